//! Live Slack backend: `conversations.replies`, `conversations.info` and `chat.postMessage` on
//! the bot's Web API client.
