//! The `slack` MCP tool server (stub until implemented).
