//! The `signoz` MCP tool server (stub until implemented).
