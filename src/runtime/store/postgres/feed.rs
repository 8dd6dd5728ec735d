//! The change feed's connection: `LISTEN`, reconnecting after a loss.

use super::*;

/// The change feed's connection: LISTENs, and forwards every notification to the subscribers.
/// Reconnects after losing the connection, and then sends `Resync` (changes may have been
/// missed meanwhile). `ready` hears whether the first LISTEN worked.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    channel: String,
    feed: broadcast::Sender<Change>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let mut ready = Some(ready);
    loop {
        match listen_once(&config, &channel).await {
            Ok((client, mut messages)) => {
                match ready.take() {
                    Some(ready) => {
                        let _ = ready.send(Ok(()));
                    }
                    None => {
                        let _ = feed.send(Change::Resync);
                    }
                }
                while let Some(payload) = messages.recv().await {
                    // A batch's changes come as an array; a deployment (or a node from before
                    // group commit) sends one change.
                    if let Ok(changes) = serde_json::from_str::<Vec<Change>>(&payload) {
                        for change in changes {
                            let _ = feed.send(change);
                        }
                    } else if let Ok(change) = serde_json::from_str::<Change>(&payload) {
                        let _ = feed.send(change);
                    }
                }
                drop(client);
            }
            Err(error) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(error));
                    return;
                }
            }
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

/// Connects and LISTENs; the notifications' payloads come out of the receiver, which ends when
/// the connection does.
pub(super) async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &str,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<String>), StoreError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(db("connecting the change feed"))?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Ends when the connection does (error, or the client dropped).
        while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                if sender.send(n.payload().to_string()).is_err() {
                    return;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await.map_err(db("listening for changes"))?;
    Ok((client, receiver))
}
