"""Local stand-ins of the outside systems, for the demo, the tests and the benchmarks.

Nothing here runs in production except the fleet simulator, which a deployment may name
as its `simulator` backend (the demo profile does). `integrations/` never imports this
package: it holds only the adapters production runs.
"""
