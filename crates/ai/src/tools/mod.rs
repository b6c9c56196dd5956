//! Tools the model can call (OpenAI tool calling). Each runs as the calling member, inside
//! their workspace, and only if their role holds the tool's permission; the model is only
//! offered the tools the member may use. Modules register theirs at start-up.

mod list_members;
mod search_conversations;

use async_trait::async_trait;
use nexus_kernel::AppState;
use nexus_kernel::roles::Permission;
use nexus_kernel::tenancy::TenantCtx;
use serde_json::Value;
use std::sync::Arc;

use crate::provider::ToolSpec;

/// What a tool answers when the database fails it. The result is kept with the answer,
/// for everyone who reads it: the database's own words go to the log instead.
pub(crate) fn storage_failed(tool: &str, error: impl std::fmt::Debug) -> String {
    tracing::warn!(?error, tool, "a tool could not read the database");
    "The tool could not read the data just now; try again later.".to_owned()
}

pub struct ToolContext<'a> {
    pub state: &'a AppState,
    pub ctx: &'a TenantCtx,
    /// The answer is read by others than the member (a `workspace` conversation, where
    /// results are stored with it): a tool must not put there what only the member may
    /// see.
    pub shared: bool,
}

#[async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// JSON Schema of the arguments.
    fn parameters(&self) -> Value;
    fn permission(&self) -> Permission;
    /// The result the model sees. An `Err` is shown to the model as the tool's error.
    async fn call(&self, cx: &ToolContext<'_>, args: Value) -> Result<Value, String>;
}

#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<Arc<dyn Tool>>,
}

impl ToolRegistry {
    pub fn with_defaults() -> Self {
        let mut r = Self::default();
        r.register(Arc::new(search_conversations::SearchConversations));
        r.register(Arc::new(list_members::ListMembers));
        r
    }

    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.retain(|t| t.name() != tool.name());
        self.tools.push(tool);
    }

    /// The tools this member may use, as offered to the model.
    pub fn specs_for(&self, ctx: &TenantCtx) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .filter(|t| ctx.require(t.permission()).is_ok())
            .map(|t| ToolSpec {
                name: t.name().into(),
                description: t.description().into(),
                parameters: t.parameters(),
            })
            .collect()
    }

    /// Run a tool call from the model. Unknown tools, bad arguments and refused
    /// permissions come back as errors for the model to read, never as failures of ours.
    pub async fn call(&self, cx: &ToolContext<'_>, name: &str, arguments: &str) -> Value {
        let Some(tool) = self.tools.iter().find(|t| t.name() == name) else {
            return serde_json::json!({ "error": format!("there is no tool named {name}") });
        };
        if cx.ctx.require(tool.permission()).is_err() {
            return serde_json::json!({ "error": "the user's role does not allow this tool" });
        }
        let args: Value = match serde_json::from_str(if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        }) {
            Ok(v) => v,
            Err(e) => {
                return serde_json::json!({ "error": format!("the arguments are not valid JSON: {e}") });
            }
        };
        match tool.call(cx, args).await {
            Ok(v) => v,
            Err(e) => serde_json::json!({ "error": e }),
        }
    }
}
