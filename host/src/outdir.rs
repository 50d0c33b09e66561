//! Output folders, checked before any work starts: a render never runs only to find that its
//! result cannot be written.

use std::path::{Path, PathBuf};

/// Why an output folder cannot take outputs.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// Nothing exists at the path (and it was not to be created).
    #[error("output folder {} does not exist", .0.display())]
    Missing(PathBuf),
    /// The path, or a folder on the way to it, is a file.
    #[error("output folder {} is a file, not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// Creating the folder failed.
    #[error("output folder {} cannot be created: {}", .0.display(), .1)]
    CannotCreate(PathBuf, std::io::Error),
    /// A file cannot be created in the folder.
    #[error("output folder {} is not writable: {}", .0.display(), .1)]
    NotWritable(PathBuf, std::io::Error),
}

/// The folder an output file goes to (`.` for a bare file name).
pub fn folder_of(output: &Path) -> &Path {
    output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Checks that files can be created in `dir` (creating it and its parents first when `create`),
/// by creating and removing a probe file.
///
/// ```
/// use fxchain_host::outdir::{check_folder, FolderError};
/// let tmp = tempfile::tempdir().unwrap();
/// check_folder(tmp.path(), false).unwrap();
/// let file = tmp.path().join("f");
/// std::fs::write(&file, b"").unwrap();
/// assert!(matches!(check_folder(&file, true), Err(FolderError::NotAFolder(_))));
/// assert!(matches!(check_folder(&tmp.path().join("new"), false), Err(FolderError::Missing(_))));
/// check_folder(&tmp.path().join("new/sub"), true).unwrap();
/// ```
pub fn check_folder(dir: &Path, create: bool) -> Result<(), FolderError> {
    // The nearest existing ancestor tells a file in the way apart from a missing folder.
    if let Some(file) = dir.ancestors().find(|a| a.exists()).filter(|a| !a.is_dir()) {
        return Err(FolderError::NotAFolder(if file == dir { dir.to_path_buf() } else { file.to_path_buf() }));
    }
    if !dir.is_dir() {
        if !create {
            return Err(FolderError::Missing(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|e| FolderError::CannotCreate(dir.to_path_buf(), e))?;
    }
    let probe = tempfile::Builder::new().prefix(".fxchain-write-test-").tempfile_in(dir);
    match probe {
        Ok(f) => {
            let _ = f.close();
            Ok(())
        }
        Err(e) => Err(FolderError::NotWritable(dir.to_path_buf(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_on_the_way_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("blocker");
        std::fs::write(&file, b"x").unwrap();
        let e = check_folder(&file.join("a/b"), true).unwrap_err();
        assert_eq!(e.to_string(), format!("output folder {} is a file, not a folder", file.display()));
    }

    #[test]
    fn the_probe_file_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        check_folder(tmp.path(), false).unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_read_only_folder_is_not_writable() {
        // /sys refuses new files, also to root.
        if Path::new("/sys/kernel").is_dir() {
            assert!(matches!(check_folder(Path::new("/sys"), false), Err(FolderError::NotWritable(..))));
        }
    }
}
