//! This process as one node of several on a shared store: its name, and how long it holds a
//! deadline it claimed. The engine and the timer service both need them; neither owns them.

/// How long a node holds a deadline it claimed before another node may take it over. Firing
/// one takes milliseconds; the lease only matters when a node dies or hangs mid-way.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// A node name for this process: host name, process id and a random part.
pub fn default_node() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[random.len() - 8..])
}
