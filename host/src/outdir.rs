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

/// Why the files of a job cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The paths given do not fit the chain, or collide (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An output folder cannot take the outputs (exit 3).
    #[error(transparent)]
    Folder(#[from] FolderError),
}

/// The chain inputs named by `args` (`FILE` for the next unnamed input of `names`, or
/// `NAME=FILE`).
pub fn parse_inputs(args: &[String], names: &[String]) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut positional = names.iter();
    for a in args {
        match a.split_once('=') {
            Some((name, file)) if !name.is_empty() && !name.contains(['/', '\\']) => {
                out.push((name.to_string(), PathBuf::from(file)))
            }
            _ => {
                let name = positional.next().cloned().unwrap_or_else(|| "input".to_string());
                out.push((name, PathBuf::from(a)));
            }
        }
    }
    out
}

/// The output files of `chain` for the `-o` paths given: one per chain output, or a folder
/// (ending in `/`, or existing) that gets `ID.png` per output. Two outputs naming one file are
/// refused.
pub fn output_paths(outputs: &[PathBuf], chain: &crate::Chain) -> Result<Vec<PathBuf>, FilesError> {
    let n = chain.outputs.len();
    if outputs.len() == 1 && (outputs[0].to_string_lossy().ends_with('/') || outputs[0].is_dir()) {
        let dir = &outputs[0];
        return Ok(chain
            .outputs
            .iter()
            .map(|&i| {
                let s = &chain.steps[i];
                dir.join(format!("{}.png", s.id.clone().unwrap_or_else(|| format!("step{}", i + 1))))
            })
            .collect());
    }
    if outputs.len() != n {
        return Err(FilesError::Usage(format!(
            "the chain has {n} output(s) but {} -o path(s) were given",
            outputs.len()
        )));
    }
    for (i, a) in outputs.iter().enumerate() {
        if let Some(b) = outputs[..i].iter().find(|b| same_path(a, b)) {
            return Err(FilesError::Usage(format!(
                "-o {} and -o {} are the same file: one output would replace the other",
                b.display(),
                a.display()
            )));
        }
    }
    Ok(outputs.to_vec())
}

/// Checks a file job before anything is decoded or rendered: every output folder exists and
/// takes new files (`-` is standard output), no input is also an output, and every input file
/// exists (`-` is standard input).
pub fn check_files(inputs: &[(String, PathBuf)], outputs: &[PathBuf]) -> Result<(), FilesError> {
    let files: Vec<&PathBuf> = outputs.iter().filter(|p| p.as_path() != Path::new("-")).collect();
    for path in &files {
        check_folder(folder_of(path), false)?;
    }
    for (_, path) in inputs {
        if files.iter().any(|o| same_file(o, path)) {
            return Err(FilesError::Usage(format!(
                "{} is both an input and an output; refusing to overwrite an input",
                path.display()
            )));
        }
        // A missing input is bad usage (docs/operations.md); an unreadable one is failed work.
        if path != Path::new("-") && matches!(path.try_exists(), Ok(false)) {
            return Err(FilesError::Usage(format!("input file {} does not exist", path.display())));
        }
    }
    Ok(())
}

/// Whether two output paths name the same file, whether or not it exists yet (the folders are
/// compared canonically, so `out/a.png` and `./out/../out/a.png` match).
fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| -> Option<PathBuf> {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    };
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y || same_file(a, b),
        _ => a == b,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
