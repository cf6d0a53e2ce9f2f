"""`watchkeeper demo`: the bot, the Slack stand-in and the simulator, with a console."""
