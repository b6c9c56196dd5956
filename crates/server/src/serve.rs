//! Serving with graceful shutdown: on SIGTERM or SIGINT stop accepting, let in-flight
//! requests finish, and give up after the drain deadline.

use axum::serve::ListenerExt;
use nexus_kernel::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serve until `shutdown` resolves, then drain (requests, then [`AppState::tasks`]) for
/// at most `shutdown_grace_secs`.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.settings.shutdown_grace_secs);
    let app = crate::build_router(state.clone());
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let stopping = state.shutdown.clone();
    // Streams write many small frames (SSE events); without TCP_NODELAY a frame that
    // follows another can wait for the peer's delayed acknowledgement.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY on a connection");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        // Long-running work (AI streams) ends with a final event instead of being cut.
        stopping.cancel();
        let _ = tx.send(true);
    });
    let deadline = async move {
        let _ = rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    // Turns and WebSocket sessions outlive the connections axum tracks: their final
    // events and saves are waited for too, before the database closes under them.
    let tasks = state.tasks.clone();
    let drained = async move {
        server.await?;
        tasks.close();
        tasks.wait().await;
        anyhow::Ok(())
    };
    tokio::select! {
        result = drained => result?,
        () = deadline => tracing::warn!("drain deadline passed; closing remaining connections"),
    }
    state.db.conn().clone().close().await.ok();
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
