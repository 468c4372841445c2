"""Checks of deploy/ that a schema cannot make (run by work/tests/deploy.rs with the
venv of `scripts/setup --k8s`): every container of every manifest runs with a read-only
root filesystem, no privilege escalation, dropped capabilities, resource limits, an
image and runAsNonRoot (on the container or its pod), and takes secrets only from Secrets
(a name that looks like a secret has no literal value and comes from a secretKeyRef);
the compose file runs Redis with AOF and two workers on it. Prints one line per problem
and exits 1 if there is any."""
import re
import sys
import yaml

problems = []
SECRETISH = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET)", re.I)


def containers(doc):
    spec = doc.get("spec", {})
    tmpl = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
    if not tmpl:
        return []
    return tmpl.get("spec", {}).get("containers", [])


for path in sys.argv[2:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if not doc:
                continue
            where = f"{path}: {doc['kind']} {doc['metadata']['name']}"
            if doc["kind"] == "Secret":
                problems.append(f"{where}: a Secret with values in the repository")
            pod = (doc.get("spec", {}).get("template") or {}).get("spec", {})
            for c in containers(doc):
                sc = c.get("securityContext", {})
                if not c.get("image"):
                    problems.append(f"{where}/{c['name']}: no image")
                if not (sc.get("runAsNonRoot") or pod.get("securityContext", {}).get("runAsNonRoot")):
                    problems.append(f"{where}/{c['name']}: may run as root (no runAsNonRoot)")
                if sc.get("readOnlyRootFilesystem") is not True:
                    problems.append(f"{where}/{c['name']}: root filesystem not read-only")
                if sc.get("allowPrivilegeEscalation") is not False:
                    problems.append(f"{where}/{c['name']}: privilege escalation not refused")
                if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                    problems.append(f"{where}/{c['name']}: capabilities not dropped")
                if sc.get("privileged"):
                    problems.append(f"{where}/{c['name']}: privileged")
                if not c.get("resources", {}).get("limits"):
                    problems.append(f"{where}/{c['name']}: no resource limits")
                for e in c.get("env", []):
                    if SECRETISH.search(e["name"]) and "value" in e:
                        problems.append(f"{where}/{c['name']}: {e['name']} has a literal value")
                    elif SECRETISH.search(e["name"]) and "secretKeyRef" not in e.get("valueFrom", {}):
                        problems.append(f"{where}/{c['name']}: {e['name']} not from a Secret (secretKeyRef)")

with open(sys.argv[1]) as f:
    compose = yaml.safe_load(f)
services = compose.get("services", {})
redis = services.get("redis", {})
if "--appendonly" not in redis.get("command", []):
    problems.append("compose: redis without --appendonly")
workers = [n for n, s in services.items() if s.get("command", [""])[0] == "worker"]
if len(workers) != 2:
    problems.append(f"compose: {len(workers)} workers, want 2")
for n in workers:
    cmd = services[n]["command"]
    if "redis://redis:6379" not in cmd:
        problems.append(f"compose: {n} does not use the compose Redis")
    if not services[n].get("read_only"):
        problems.append(f"compose: {n} root filesystem not read-only")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
