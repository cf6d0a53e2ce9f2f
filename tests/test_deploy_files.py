"""The deployment files (deploy/) hold together: no Docker daemon or cluster runs them here,
so this reads them and checks what matters. Two replicas; every probe and health check
asks a path the bot serves; non-root on a read-only root filesystem, writing only under
/var/lib/watchkeeper; every secret the config reads in production comes from the Secret
(or the env file), so `serve` would not refuse a public demo value; Alertmanager posts to
the bot's hook with the bearer token the bot accepts."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.config import parse_config
from bot.secrets_check import production_reason, weak_secrets
from tests.bot_process import ROOT
from tests.harness import BotHarness

DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
DATA = "/var/lib/watchkeeper"
CONFIG = "/etc/watchkeeper/app.yaml"
PORT = 8780


def load(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(path.read_text())
    return found


def kube(kind: str) -> dict[str, Any]:
    """The one manifest of `kind` under deploy/kubernetes/."""
    found = [
        doc
        for path in sorted(KUBE.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == kind
    ]
    assert len(found) == 1, f"{len(found)} {kind} manifests"
    only: dict[str, Any] = found[0]
    return only


def container() -> dict[str, Any]:
    (only,) = kube("Deployment")["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = only
    return found


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def healthcheck_path() -> str:
    found = re.search(r"HEALTHCHECK .*?http://127\.0\.0\.1:(\d+)(/[^'\"]*)", dockerfile(), re.S)
    assert found, "no HEALTHCHECK asking the bot over HTTP"
    assert int(found.group(1)) == PORT
    return found.group(2)


def probe_paths() -> set[str]:
    c = container()
    return {c[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe", "startupProbe")}


def serve_args(args: list[str]) -> dict[str, str]:
    assert args[:2] == ["watchkeeper", "serve"], args
    return dict(zip(args[2::2], args[3::2], strict=True))


def production_config(env: dict[str, str]) -> list[str]:
    """The weak secrets `serve` would refuse with the shipped app.yaml and `env`."""
    config = parse_config(yaml.safe_load((ROOT / "app.yaml").read_text()), env)
    assert production_reason(config, env) is not None
    return [w.path for w in weak_secrets(config)]


def random_value(name: str) -> str:
    value = secrets.token_hex(32)
    shaped = {
        "SLACK_BOT_TOKEN": f"xoxb-{value}",
        "WATCHKEEPER_DB_URL": f"postgresql+psycopg://watchkeeper:{value}@db/watchkeeper",
    }
    return shaped.get(name, value)


# The image ----------------------------------------------------------------------------------


def test_the_image_is_built_by_the_install_script_and_runs_as_non_root() -> None:
    text = dockerfile()
    stages = re.findall(r"^FROM .*$", text, re.M)
    assert len(stages) == 2 and stages[0].endswith(" AS builder")
    assert "deploy/install-wheel.sh /opt/watchkeeper" in text
    assert "COPY --from=builder /opt/watchkeeper /opt/watchkeeper" in text
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    assert user.split(":")[0] not in ("0", "root")
    assert re.search(rf"^WORKDIR {DATA}$", text, re.M)  # the config's ./var/ lands there
    assert re.search(rf"^VOLUME \[\"{DATA}\"\]$", text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd
    args = serve_args(yaml.safe_load(cmd.group(1)))
    assert (args["--config"], args["--host"], args["--port"]) == (CONFIG, "0.0.0.0", str(PORT))


# Compose ------------------------------------------------------------------------------------


def test_compose_runs_two_read_only_non_root_replicas_on_postgresql() -> None:
    compose = load(DEPLOY / "compose.yaml")
    bot = compose["services"]["bot"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["read_only"] is True
    assert bot["user"].split(":")[0] not in ("0", "root")
    assert [v.split(":")[1] for v in bot["volumes"]] == [DATA]
    assert bot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert "@postgres:5432/" in bot["environment"]["WATCHKEEPER_DB_URL"]
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_alertmanager_posts_to_the_bots_hook_with_the_token_the_bot_accepts() -> None:
    compose = load(DEPLOY / "compose.yaml")
    (receiver,) = load(DEPLOY / "alertmanager.yml")["receivers"]
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == f"http://bot:{PORT}/hooks/alertmanager"
    secret_file = hook["http_config"]["authorization"]["credentials_file"]
    (secret,) = compose["services"]["alertmanager"]["secrets"]
    assert secret_file == f"/run/secrets/{secret}"
    variable = compose["secrets"][secret]["environment"]
    # The same variable is the bot's accepted token in the shipped config.
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert raw["intake"]["alertmanager"]["auth"]["bearer_tokens"] == [f"${{{variable}:-am-token}}"]
    assert variable in env_example()


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "watchkeeper.env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_the_env_file_sets_every_secret_serve_needs_in_production() -> None:
    compose = load(DEPLOY / "compose.yaml")
    env = {k: v or random_value(k) for k, v in env_example().items()}
    env |= {k: random_value(k) for k in compose["services"]["bot"]["environment"]}
    assert production_config(env) == []
    # Without one of them, serve would refuse the demo default: the check has teeth.
    del env["WATCHKEEPER_AUDIT_KEY"]
    assert production_config(env) == ["audit.key"]


# Kubernetes ---------------------------------------------------------------------------------


def test_the_deployment_runs_two_non_root_replicas_on_a_read_only_root() -> None:
    deployment = kube("Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    c = container()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    writable = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert writable == {DATA, "/tmp"}
    args = serve_args(c["args"])
    assert (args["--config"], args["--port"]) == (CONFIG, str(PORT))
    assert [p["containerPort"] for p in c["ports"]] == [PORT]
    config_mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
    assert f"{config_mount['mountPath']}/app.yaml" == CONFIG


def test_every_secret_the_deployment_reads_is_in_the_secret_and_enough_for_production() -> None:
    secret = kube("Secret")
    env = container()["env"]
    refs = [e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e]
    assert {r["name"] for r in refs} == {secret["metadata"]["name"]}
    assert {r["key"] for r in refs} == set(secret["stringData"])
    given = {e["name"]: e["value"] for e in env if "value" in e}
    given |= {e["name"]: random_value(e["name"]) for e in env if "valueFrom" in e}
    assert production_config(given) == []


def test_the_budget_service_and_policies_select_the_deployments_pods() -> None:
    labels = kube("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert kube("PodDisruptionBudget")["spec"]["minAvailable"] == 1
    assert kube("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == labels
    assert kube("NetworkPolicy")["spec"]["podSelector"]["matchLabels"] == labels
    assert kube("Service")["spec"]["selector"] == labels
    assert [p["targetPort"] for p in kube("Service")["spec"]["ports"]] == ["http"]


def test_the_network_admits_only_the_bots_port_and_the_ingress_only_slack_and_hooks() -> None:
    (rule,) = kube("NetworkPolicy")["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": PORT}]
    paths = [
        (p["path"], p["pathType"])
        for r in kube("Ingress")["spec"]["rules"]
        for p in r["http"]["paths"]
    ]
    assert paths == [("/slack/events", "Exact"), ("/hooks", "Prefix")]


# The paths, asked of the bot itself ---------------------------------------------------------


async def test_every_probe_and_exposed_path_is_served(tmp_path: Path) -> None:
    probes = probe_paths() | {healthcheck_path()}
    assert probes == {"/livez", "/readyz"}
    token = secrets.token_hex(32)
    intake = {"alertmanager": {"auth": {"bearer_tokens": [token]}}}
    async with (
        BotHarness(f"sqlite+aiosqlite:///{tmp_path}/wk.db", intake=intake) as h,
        httpx.AsyncClient(base_url=h.url) as http,
    ):
        for path in sorted(probes):
            assert (await http.get(path)).status_code == 200, path
        # Unsigned, unauthenticated: refused by the route, not missing (404/405).
        for path in ("/slack/events", "/hooks/alertmanager"):
            answer = await http.post(path, content=b"{}")
            assert answer.status_code in (400, 401, 403), (path, answer.status_code)
