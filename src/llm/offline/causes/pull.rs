//! Images that cannot be pulled, told apart by what the registry answered: a tag that does not
//! exist (`manifest unknown`, `…: not found`), a repository that does not exist or needs
//! credentials, credentials refused (`unauthorized`), a rate limit, an unreachable registry.
//!
//! [`detect_image_pull`] is the Kubernetes agent's detector of the same class, read from the pods
//! and events directly (the tag CI pushed instead, the registry's answer in the events).

use super::crashloop::containers;
use super::{Facts, base_score, cite, note_rollout, pod_name};
use crate::evidence::{ContainerState, KubeEvent, PodState};
use crate::findings::{PullProblem, pull_problem};
use crate::llm::offline::common::{Ctx, Finding, contains_ci, quote, word_after};

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

/// `registry/app:v2` → `v2`.
pub(crate) fn image_tag(image: &str) -> Option<&str> {
    let (repo, tag) = image.rsplit_once(':')?;
    (!tag.contains('/') && !repo.is_empty()).then_some(tag)
}

/// ImagePullBackOff / ErrImagePull.
pub(crate) fn detect_image_pull(ctx: &Ctx<'_>) -> Option<Finding> {
    let pulling: Vec<(&PodState, &ContainerState)> = containers(ctx)
        .into_iter()
        .filter(|(_, c)| {
            matches!(
                c.reason.as_deref(),
                Some("ErrImagePull") | Some("ImagePullBackOff") | Some("InvalidImageName")
            )
        })
        .collect();
    let events: Vec<&KubeEvent> = ctx
        .events_with(&[
            "failed to pull image",
            "errimagepull",
            "imagepullbackoff",
            "back-off pulling image",
        ])
        .into_iter()
        .collect();
    let mut f = Finding::new(
        "image-pull",
        format!("Image for {} cannot be pulled", ctx.deployment),
    );
    if pulling.is_empty() && events.is_empty() {
        if ctx.mentions(&["imagepull", "image pull", "errimagepull"]) {
            f.root_cause = format!(
                "Pods of {} cannot start because the image cannot be pulled (per the alert): usually the image tag does not exist or the registry denies access.",
                ctx.deployment
            );
            f.summary = format!("{}'s image cannot be pulled.", ctx.deployment);
            f.missing("no pod status or events");
            f.cmd(
                "See the pull error",
                ctx.kubectl(&format!("describe pod -l app={}", ctx.service)),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        return None;
    }
    let msg = events
        .iter()
        .find(|e| contains_ci(&e.message, "failed to pull"))
        .or(events.first())
        .map(|e| e.message.clone())
        .or_else(|| pulling.first().and_then(|(_, c)| c.message.clone()))
        .unwrap_or_default();
    let image = pulling
        .first()
        .map(|(_, c)| c.image.clone())
        .or_else(|| word_after(&msg, "image"))
        .unwrap_or_else(|| "<image>".into());
    let tag = image_tag(&image).unwrap_or("latest").to_string();
    let pod_name = pulling
        .first()
        .map(|(p, _)| p.name.clone())
        .or_else(|| {
            events
                .first()
                .and_then(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        })
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    let lower = msg.to_lowercase();
    let why = if ["manifest unknown", "not found", "does not exist", "no such"]
        .iter()
        .any(|n| lower.contains(n))
    {
        format!("the image tag {tag} does not exist in the registry")
    } else if [
        "unauthorized",
        "denied",
        "authentication required",
        "forbidden",
    ]
    .iter()
    .any(|n| lower.contains(n))
    {
        format!(
            "the registry denies access to the image (tag {tag}): the imagePullSecret is missing or invalid"
        )
    } else {
        format!("the image (tag {tag}) cannot be pulled from the registry")
    };
    f.for_(format!(
        "{} containers waiting: {}",
        pulling.len(),
        pulling
            .first()
            .and_then(|(_, c)| c.reason.clone())
            .unwrap_or_else(|| "ErrImagePull".into())
    ));
    if !msg.is_empty() {
        f.for_(format!("pull error: \"{}\"", quote(&msg, 160)));
    }
    for e in events.iter().take(2) {
        f.at_opt(
            e.timestamp,
            format!("{}: {}", e.reason, quote(&e.message, 90)),
        );
    }
    if let Some(r) = ctx.rollout_before(ctx.now, 240) {
        f.at(r.at, format!("rollout: {}", quote(r.message, 80)));
    }
    f.metric("image", image.clone());
    let repo_name = image
        .rsplit_once(':')
        .map(|(r, _)| r)
        .unwrap_or(&image)
        .to_string();
    let pushed = ctx
        .logs
        .iter()
        .rfind(|l| l.lower.contains("pushed") && l.rec.body.contains(&repo_name))
        .map(|l| quote(&l.rec.body, 140));
    let why = match &pushed {
        Some(p) => {
            f.for_(format!("CI log: \"{p}\""));
            format!("{why}; CI only pushed a different tag (\"{p}\")")
        }
        None => why,
    };
    f.root_cause = format!(
        "Pods of {} cannot start: ImagePullBackOff pulling image {image} — {why}{}.",
        ctx.deployment,
        if msg.is_empty() {
            String::new()
        } else {
            format!(" (\"{}\")", quote(&msg, 140))
        }
    );
    f.summary = format!(
        "{} cannot start: image {image} cannot be pulled.",
        ctx.deployment
    );
    f.cmd(
        "See the pull error",
        ctx.kubectl(&format!("describe pod {pod_name}")),
    );
    let repo = image.rsplit_once(':').map(|(r, _)| r).unwrap_or(&image);
    f.cmd(
        "List the tags that exist in the registry",
        format!("crane ls {repo}"),
    );
    f.cmd(
        "Roll back to the previous (pullable) image",
        ctx.kubectl_deploy("rollout undo"),
    );
    f.prevent("Deploy only images CI has pushed: pin by digest and check the tag exists (crane manifest) before applying");
    Some(f.with_score(0.9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(
            image_tag("registry.example.com:5000/app:v2.4.0"),
            Some("v2.4.0")
        );
        assert_eq!(image_tag("registry.example.com:5000/app"), None);
        assert_eq!(image_tag("app"), None);
    }
}
