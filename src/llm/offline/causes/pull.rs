//! Images that cannot be pulled, told apart by what the registry answered: a tag that does not
//! exist (`manifest unknown`, `…: not found`), a repository that does not exist or needs
//! credentials, credentials refused (`unauthorized`), a rate limit, an unreachable registry.

use super::{Facts, base_score, cite, note_rollout, pod_name};
use crate::findings::{PullProblem, pull_problem};
use crate::llm::offline::common::{Finding, quote};

/// `repo:tag` → (`repo`, `tag`); a digest or no tag gives no tag.
pub(crate) fn split_image(image: &str) -> (&str, Option<&str>) {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') {
        return (image, None);
    }
    match last.rsplit_once(':') {
        Some((_, tag)) => (&image[..image.len() - tag.len() - 1], Some(tag)),
        None => (image, None),
    }
}

/// The image of an image-pull finding (`… cannot pull image <image> (<reason>)`).
fn image_in(detail: &str) -> Option<&str> {
    let rest = detail.split("cannot pull image ").nth(1)?;
    rest.split_whitespace().next()
}

/// The registry's answer in a pull-failure event of `pod` (`Failed`, `ErrImagePull`), when it
/// says more than "back-off".
fn pull_event<'a>(facts: &Facts<'a>, pod: &str) -> Option<(PullProblem, &'a str)> {
    facts
        .ctx
        .events
        .iter()
        .filter(|e| pod_name(&e.object) == pod)
        .filter(|e| e.message.to_ascii_lowercase().contains("pull"))
        .map(|e| (pull_problem(&e.reason, &e.message), e.message.as_str()))
        .find(|(p, _)| *p != PullProblem::Unknown)
}

/// A pod waiting in ImagePullBackOff / ErrImagePull, with the registry's answer.
pub(crate) fn image_pull(facts: &Facts<'_>) -> Vec<Finding> {
    const PULL: &[&str] = &[
        "image_tag_not_found",
        "image_repository_or_access",
        "image_pull_unauthorized",
        "image_pull_rate_limited",
        "image_registry_unreachable",
        "image_name_invalid",
        "image_pull_failed",
    ];
    let found = facts.target_first(facts.with(PULL));
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    // The waiting message often says only that the pull backs off; the kubelet's `Failed` event
    // of the same pod carries the registry's answer.
    let event = (f.fact == "image_pull_failed")
        .then(|| pull_event(facts, pod))
        .flatten();
    let fact = event.map(|(p, _)| p.fact()).unwrap_or(f.fact.as_str());
    let image = image_in(&f.detail).unwrap_or_default();
    let (repo, tag) = split_image(image);
    let said = event
        .map(|(_, m)| m.to_string())
        .or_else(|| f.cites.first().cloned())
        .unwrap_or_default();
    let why = match fact {
        "image_tag_not_found" => format!(
            "the registry has no tag {} in repository {repo} (not found / manifest unknown): the tag is wrong or was never pushed",
            tag.unwrap_or("(none)")
        ),
        "image_repository_or_access" => format!(
            "the registry answers that repository {repo} does not exist or may require authorization: check the repository name first (a typo gives the same answer), then the pull credentials"
        ),
        "image_pull_unauthorized" => format!(
            "the registry refuses the pull credentials for {repo} (unauthorized): the imagePullSecret is missing, expired or revoked"
        ),
        "image_pull_rate_limited" => {
            "the registry rate-limits the pulls (toomanyrequests): authenticate the pulls or use a mirror".to_string()
        }
        "image_registry_unreachable" => format!(
            "the registry of {repo} cannot be reached from the node (network, DNS or proxy)"
        ),
        "image_name_invalid" => format!("the image reference {image} is not a valid name"),
        _ => "the pull fails; the registry's message says why".to_string(),
    };
    let mut c = Finding::new("general-image-pull", format!("{pod}: image pull fails"));
    c.score = if event.is_some() {
        base_score(crate::findings::Strength::Decisive)
    } else {
        base_score(f.strength)
    } + 0.02;
    cite(&mut c, f);
    c.root_cause = format!(
        "Pod {pod} cannot pull image {image}: {why}. ({})",
        quote(&said, 220)
    );
    c.summary = format!("{pod} waits in image pull back-off: {}.", quote(&why, 120));
    c.cause = format!("image {image} cannot be pulled");
    if found.len() > 1 {
        c.for_(format!("{} containers fail to pull", found.len()));
    }
    note_rollout(&mut c, facts);
    let ns = facts.ns_of_pod(pod);
    let ns = ns.as_deref();
    c.cmd(
        "The kubelet's pull errors",
        facts.kubectl(ns, &format!("describe pod {pod}")),
    );
    if fact == "image_pull_unauthorized" || fact == "image_repository_or_access" {
        c.cmd(
            "The pull secrets the pod uses",
            facts.kubectl(
                ns,
                &format!("get pod {pod} -o jsonpath='{{.spec.imagePullSecrets}}'"),
            ),
        );
    }
    if let Some(w) = facts.rollout_ref() {
        c.cmd(
            format!("Roll {w} back to the last image that pulled"),
            facts.kubectl(ns, &format!("rollout undo {w}")),
        );
    }
    c.prevent("Check in CI that the image reference exists in the registry before deploying");
    vec![c]
}
