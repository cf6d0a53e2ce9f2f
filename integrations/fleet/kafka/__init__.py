"""The `kafka` fleet backend: Kafka clusters through the Kafka protocol (kafka-python).

Each configured cluster (name -> bootstrap servers, in `app.yaml`) is one service of kind
kafka. Modules: `admin` (the client on its worker thread, the error codes), `snapshot`
(metadata, configs, lag and the service they show), `configs` (the topic configs that may
change), `plans` (dry runs), `steps` (the calls and checks that `integrations.fleet.stepped`
runs), `fleet` (the port). docs/backends.md, "Kafka", is the operator's side.
"""

from integrations.fleet.kafka.fleet import KafkaFleet

__all__ = ["KafkaFleet"]
