"""The fallback console's server side: the bot's authenticated ops endpoint, through which
`watchkeeper ops` acts when Slack is down (docs/fallback.md)."""
