"""The `patroni` fleet backend: PostgreSQL HA clusters through Patroni's REST API.

Each configured cluster (name -> member REST URLs, in `app.yaml`) is one service of kind
postgres. Modules: `rest` (the wire), `topology` (`/cluster` and the service it shows),
`actions` (plans), `operations` and `runner` (what was asked and how it ended), `health`
(the post-check), `fleet` (the port).
"""

from integrations.fleet.patroni.fleet import PatroniFleet

__all__ = ["PatroniFleet"]
