"""Page intake over HTTP: `POST /hooks/<source>`, authenticated per source, parsed by the
source's parser in `integrations/`, and handed to the runtime's page sink, which stores
the pages durably before the sender gets its 2xx.

Kept free of imports: `bot.config` imports `bot.intake.config`, and the routes import the
runtime, which imports the config.
"""
