//! The `kubernetes` MCP tool server (stub until implemented).
