//! The `network` MCP tool server (stub until implemented).
