"""Who may do what, from where: the one permission step every command and button passes
before its handler runs (docs/security.md).

Each command and button declares a *verb* when it is registered (`incident.resolve`,
`fleet.status`, ...); `permissions:` in `app.yaml` names the roles that may use each verb
or verb glob, and a verb no rule names is refused. The step also keeps incident work in
the incident's own channel and writes one `command.invoked` audit row per invocation,
allowed or refused.
"""
