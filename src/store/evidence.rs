//! Evidence images as sealed files beside the database, one directory per session
//! (`evidence/<session>/<kind>.sealed`, directories 0700, files 0600), written to a
//! temporary file, synced and renamed. They were values in sled, and sled 0.34
//! keeps every value written in memory until it is read: the replay soak's RSS
//! grew with each photo stored. Files are sealed exactly as the values were (the
//! session's personal data key, `<session>/<kind>` as associated data), so a purge
//! still forgets the key first; the files go after it and are noise until then.
//! Names come from the daemon, but a name that is not a plain file name (a path,
//! `..`) is refused before it reaches the file system.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::StoreError;

const DIR: &str = "evidence";
const SUFFIX: &str = "sealed";

pub(super) struct EvidenceFiles {
    root: PathBuf,
}

impl EvidenceFiles {
    /// The evidence directory inside the store's directory, made if missing.
    pub fn open(store_dir: &Path) -> Result<Self, StoreError> {
        let root = store_dir.join(DIR);
        crate::fsutil::create_private_dir(&root)
            .map_err(|e| StoreError::Open { path: root.display().to_string(), reason: e.to_string() })?;
        Ok(Self { root })
    }

    fn path(&self, session: &str, kind: &str) -> Result<PathBuf, StoreError> {
        if !is_plain_name(session) || !is_plain_name(kind) {
            return Err(StoreError::BadName("an evidence name that is not a plain file name was refused".into()));
        }
        Ok(self.root.join(session).join(format!("{kind}.{SUFFIX}")))
    }

    /// Writes one sealed image durably, replacing an older one of the same kind.
    pub fn write(&self, session: &str, kind: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let path = self.path(session, kind)?;
        let new_dir = !self.root.join(session).exists();
        crate::fsutil::write_private(&path, sealed).map_err(io_error)?;
        if new_dir {
            // The session's directory entry must be on disk with the file.
            std::fs::File::open(&self.root).and_then(|d| d.sync_all()).map_err(io_error)?;
        }
        Ok(())
    }

    /// The sealed bytes, or `None` when there are none (never kept, or purged).
    pub fn read(&self, session: &str, kind: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.path(session, kind)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Removes a session's evidence; nothing to remove is not an error.
    pub fn remove(&self, session: &str) -> Result<(), StoreError> {
        if !is_plain_name(session) {
            return Ok(());
        }
        match std::fs::remove_dir_all(self.root.join(session)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    /// The sessions that have an evidence directory.
    pub fn sessions(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        entries.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()).filter(|n| is_plain_name(n)).collect()
    }

    /// Bytes the evidence files take.
    pub fn bytes(&self) -> u64 {
        let files = |dir: PathBuf| std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok);
        files(self.root.clone()).flat_map(|d| files(d.path())).filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum()
    }
}

/// Letters, digits, `_` and `-` only: what session ids and evidence kinds are made of.
fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An I/O failure as the store reports it; the path (a session id) is left out.
fn io_error(e: std::io::Error) -> StoreError {
    if e.kind() == ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC) {
        StoreError::Full("no space left on the device".into())
    } else {
        StoreError::Write(format!("evidence file: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn files(name: &str) -> (PathBuf, EvidenceFiles) {
        let dir = std::env::temp_dir().join(format!("idverifd-evidence-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = EvidenceFiles::open(&dir).unwrap();
        (dir, files)
    }

    #[test]
    fn a_sealed_image_is_an_owner_only_file_that_reads_back_and_goes_with_its_session() {
        let (dir, files) = files("roundtrip");
        files.write("vf_1", "face", b"sealed one").unwrap();
        files.write("vf_1", "face", b"sealed two").unwrap();
        files.write("vf_1", "document_front", b"front").unwrap();
        assert_eq!(files.read("vf_1", "face").unwrap().as_deref(), Some(b"sealed two".as_slice()));
        assert_eq!(files.read("vf_2", "face").unwrap(), None);
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.join("evidence/vf_1/face.sealed")), 0o600);
        assert_eq!(mode(dir.join("evidence/vf_1")), 0o700);
        assert_eq!(mode(dir.join("evidence")), 0o700);
        assert_eq!(files.sessions(), vec!["vf_1".to_string()]);
        assert_eq!(files.bytes(), 15);
        files.remove("vf_1").unwrap();
        files.remove("vf_1").unwrap();
        assert_eq!(files.read("vf_1", "face").unwrap(), None);
        assert!(files.sessions().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_name_that_is_not_a_plain_file_name_never_reaches_the_file_system() {
        let (dir, files) = files("names");
        std::fs::write(dir.join("outside"), b"x").unwrap();
        for (session, kind) in [("..", "face"), ("vf_1/../..", "face"), ("vf_1", "../../outside"), ("", "face"), ("vf 1", "face")] {
            let refused = files.write(session, kind, b"x").unwrap_err();
            assert!(refused.to_string().contains("not a plain file name"), "{refused}");
            assert!(files.read(session, kind).is_err());
        }
        files.remove("..").unwrap();
        assert_eq!(std::fs::read(dir.join("outside")).unwrap(), b"x");
        assert!(files.sessions().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
