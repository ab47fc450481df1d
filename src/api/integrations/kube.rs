//! The kubectl side: the kubeconfig `user` entry that runs `latchkey kube-credential`, and the
//! client-go exec credential protocol (`KUBERNETES_EXEC_INFO` in, an `ExecCredential` out).

use serde::Deserialize;

use crate::api::integrations::git::shell_quote;
use crate::error::{Error, Result};

pub const API_V1: &str = "client.authentication.k8s.io/v1";
pub const API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// The kubeconfig `users:` entry named `user` for `account` (JSON strings are valid YAML, and
/// quote whatever an account name holds).
pub fn user_entry(program: &str, account: &str, user: &str) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "users:\n- name: {}\n  user:\n    exec:\n      apiVersion: {API_V1}\n      command: {}\n      args: [\"kube-credential\", {}]\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n",
        q(user),
        q(program),
        q(account)
    )
}

/// The same as one `kubectl config set-credentials` command, which merges it into the
/// current kubeconfig.
pub fn set_credentials_command(program: &str, account: &str, user: &str) -> String {
    format!(
        "kubectl config set-credentials {} --exec-api-version={API_V1} --exec-command={} --exec-arg=kube-credential --exec-arg={} --exec-interactive-mode=IfAvailable",
        shell_quote(user),
        shell_quote(program),
        shell_quote(account)
    )
}

/// What kubectl tells the plugin in `KUBERNETES_EXEC_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    pub api_version: &'static str,
    /// Whether the plugin may use the terminal (kubectl's stdin is one and interactiveMode
    /// allows it). `None` without `KUBERNETES_EXEC_INFO`: not run by kubectl.
    pub interactive: Option<bool>,
}

#[derive(Deserialize)]
struct RawInfo {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Deserialize, Default)]
struct RawSpec {
    interactive: Option<bool>,
}

impl ExecInfo {
    /// Reads the variable's value (`None`: unset, then v1 is answered).
    pub fn parse(value: Option<&str>) -> Result<ExecInfo> {
        let Some(text) = value.filter(|v| !v.trim().is_empty()) else {
            return Ok(ExecInfo {
                api_version: API_V1,
                interactive: None,
            });
        };
        let raw: RawInfo = serde_json::from_str(text).map_err(|e| {
            Error::InvalidInput(format!(
                "KUBERNETES_EXEC_INFO is not an ExecCredential: {e}"
            ))
        })?;
        let api_version = match raw.api_version.as_deref() {
            None | Some(API_V1) => API_V1,
            Some(API_V1BETA1) => API_V1BETA1,
            Some(_) => {
                return Err(Error::InvalidInput(format!(
                    "KUBERNETES_EXEC_INFO asks for an ExecCredential API version Latchkey does not speak; use {API_V1} or {API_V1BETA1} in the kubeconfig's exec entry"
                )));
            }
        };
        Ok(ExecInfo {
            api_version,
            interactive: raw.spec.interactive,
        })
    }
}

/// The `ExecCredential` kubectl reads from standard output. `expires` is RFC 3339.
pub fn exec_credential(api_version: &str, token: &str, expires: Option<&str>) -> String {
    let mut status = serde_json::json!({ "token": token });
    if let Some(at) = expires {
        status["expirationTimestamp"] = at.into();
    }
    serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": status,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_info_gives_the_version_and_interactivity() {
        let v1 = ExecInfo::parse(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
        ))
        .unwrap();
        assert_eq!(
            v1,
            ExecInfo {
                api_version: API_V1,
                interactive: Some(false)
            }
        );
        let beta = ExecInfo::parse(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"cluster":{"server":"https://x"}}}"#,
        ))
        .unwrap();
        assert_eq!(beta.api_version, API_V1BETA1);
        assert_eq!(beta.interactive, Some(true));
        assert_eq!(ExecInfo::parse(None).unwrap().interactive, None);
        assert!(
            ExecInfo::parse(Some(
                r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#
            ))
            .is_err()
        );
        assert!(ExecInfo::parse(Some("{not json")).is_err());
    }

    #[test]
    fn the_credential_and_the_kubeconfig_entry() {
        let out: serde_json::Value = serde_json::from_str(&exec_credential(
            API_V1,
            "tok",
            Some("2030-01-01T00:00:00Z"),
        ))
        .unwrap();
        assert_eq!(out["kind"], "ExecCredential");
        assert_eq!(out["apiVersion"], API_V1);
        assert_eq!(out["status"]["token"], "tok");
        assert_eq!(out["status"]["expirationTimestamp"], "2030-01-01T00:00:00Z");
        let entry = user_entry("latchkey", "okta/alice@example.com", "okta");
        assert!(
            entry.contains("args: [\"kube-credential\", \"okta/alice@example.com\"]"),
            "{entry}"
        );
        assert!(entry.contains("interactiveMode: IfAvailable"), "{entry}");
        assert_eq!(
            set_credentials_command("latchkey", "okta/alice@example.com", "okta"),
            "kubectl config set-credentials okta --exec-api-version=client.authentication.k8s.io/v1 --exec-command=latchkey --exec-arg=kube-credential --exec-arg=okta/alice@example.com --exec-interactive-mode=IfAvailable"
        );
    }
}
