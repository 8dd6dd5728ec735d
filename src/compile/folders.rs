//! Finding SOP files, and loading the calendars an SOP runs on: `--calendars DIR`, or the nearest
//! `calendars/` folder beside the SOP or above it (`sop/calendars/` for `sop/*.sop`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::compile::Options;
use crate::diagnostic::Diagnostic;
use crate::syntax::SourceMap;
use crate::time::CalendarSet;

pub struct CalendarContext {
    pub set: std::sync::Arc<CalendarSet>,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub options: Options,
}

/// Calendar sets loaded so far, by folder, so each is read and reported once.
#[derive(Default)]
pub struct Calendars {
    explicit: Option<PathBuf>,
    loaded: HashMap<PathBuf, CalendarContext>,
}

impl Calendars {
    pub fn new(explicit: Option<PathBuf>) -> Self {
        Calendars { explicit, loaded: HashMap::new() }
    }

    /// The calendar folder for a file: the explicit one, else the nearest `calendars/` folder.
    pub fn folder_for(&self, file: &Path) -> Option<PathBuf> {
        if let Some(dir) = &self.explicit {
            return Some(dir.clone());
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        dir.ancestors().take(4).map(|a| a.join("calendars")).find(|c| c.is_dir())
    }

    /// Loads a folder's calendars (once); `true` the first time, so the caller reports them.
    pub fn load(&mut self, folder: &Path) -> (&CalendarContext, bool) {
        let key = folder.to_path_buf();
        let fresh = !self.loaded.contains_key(&key);
        let context = self.loaded.entry(key).or_insert_with(|| {
            let mut sources = SourceMap::new();
            let (set, diagnostics) = crate::compile::calendar::load_dir(folder, &mut sources);
            let names: Vec<String> = set.names().map(str::to_string).collect();
            let set = std::sync::Arc::new(set);
            let options = Options { calendars: Some(names), calendar_set: Some(set.clone()), ..Options::default() };
            CalendarContext { set, sources, diagnostics, options }
        });
        (context, fresh)
    }
}

/// The SOP folder of a file, inside which its imports and calls are read: the nearest folder
/// that holds a `calendars/` folder, from the file's own up to three above it (as `sop/` for
/// `sop/izin/izin.sop` beside `sop/calendars/`, the folder `alur serve` serves), else the file's
/// own folder.
pub fn sop_root(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    dir.ancestors().take(4).find(|a| a.join("calendars").is_dir()).unwrap_or(dir).to_path_buf()
}

/// Expands directories into the `.sop` files under them, sorted.
pub fn sop_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found).map_err(|e| format!("{}: {e}", path.display()))?;
            found.sort();
            out.extend(found);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sop") {
            out.push(path);
        }
    }
    Ok(())
}
