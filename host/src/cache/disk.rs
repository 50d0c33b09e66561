//! The disk tier of the result cache: whole frames as files in a folder, keyed by the same
//! content keys as the memory tier, within a byte budget (least recently used first out).
//!
//! Layout: `DIR/frames-v1/<key in hex>.frame`, each file a fixed header (magic, file format
//! version, host version, pixel format, opaque flag, size, stride, payload length, the key and a
//! BLAKE3 hash of the payload) followed by the rows, `stride` bytes apart. Temporary files
//! (`.tmp*`) live in the same folder.
//!
//! Several processes may share a folder without a lock:
//! - an entry is written to a temporary file in the folder and renamed into place, so a reader
//!   sees either no file or a whole one (two writers of the same key write the same pixels; the
//!   last rename wins);
//! - a reader checks the header and the payload hash before trusting an entry; a truncated or
//!   corrupt entry is removed and counts as a miss;
//! - a hit sets the file's modification time, the age eviction goes by;
//! - eviction lists the folder, removes the oldest entries until the total is within the budget,
//!   and takes files that vanish under it (another process evicting) as already gone.

use std::fs::{File, FileTimes};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use fxchain_plugin_api::{PixelFormat, Size};

use super::Key;
use crate::frame::{stride_for, Frame};

/// The subfolder entries are kept in (raised with the file format).
pub const SUBDIR: &str = "frames-v1";
/// First bytes of every entry.
const MAGIC: &[u8; 8] = b"FXFRAME\0";
/// The entry file format.
const VERSION: u32 = 1;
/// Bytes of the header before the rows.
pub const HEADER_LEN: usize = 8 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 8 + 32 + 32;
/// Temporary files older than this are left over by killed writers and removed by eviction.
const STALE_TEMP: Duration = Duration::from_secs(3600);
/// The folder is listed again after this many writes even when this process's own count says
/// the budget holds, so that the writes of other processes sharing it are counted too.
const RESCAN_WRITES: u64 = 32;

/// The host version entries were written by: pixels may change between versions, so an entry
/// from another version is never used.
fn host_tag() -> u32 {
    let h = blake3::hash(env!("CARGO_PKG_VERSION").as_bytes());
    u32::from_le_bytes([h.as_bytes()[0], h.as_bytes()[1], h.as_bytes()[2], h.as_bytes()[3]])
}

/// Counters of the disk tier.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiskStats {
    /// Entries read and used.
    pub hits: u64,
    /// Lookups that found no usable entry.
    pub misses: u64,
    /// Entries written.
    pub writes: u64,
    /// Entries removed to stay within the budget.
    pub evictions: u64,
    /// Entries found corrupt or truncated (and removed).
    pub corrupt: u64,
}

/// A folder of cached frames shared by any number of processes.
pub struct DiskCache {
    dir: PathBuf,
    budget: u64,
    /// This process's estimate of the folder's size: exact after a listing, plus its own writes.
    estimate: AtomicU64,
    writes_since_scan: AtomicU64,
    /// One eviction at a time in this process.
    evicting: Mutex<()>,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    evictions: AtomicU64,
    corrupt: AtomicU64,
}

impl std::fmt::Debug for DiskCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskCache").field("dir", &self.dir).field("budget", &self.budget).finish()
    }
}

/// Why an entry cannot be used.
#[derive(Debug, PartialEq, Eq)]
enum Bad {
    /// Written by another host version or file format: left for that version, replaced on write.
    Foreign,
    /// Damaged: removed.
    Corrupt(String),
}

/// The fields of an entry's header.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    format: PixelFormat,
    opaque: bool,
    size: Size,
    stride: u64,
    length: u64,
    key: Key,
    hash: [u8; 32],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            b[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(MAGIC);
        put(&VERSION.to_le_bytes());
        put(&host_tag().to_le_bytes());
        put(&u32::from(self.format.0).to_le_bytes());
        put(&u32::from(self.opaque).to_le_bytes());
        put(&self.size.width.to_le_bytes());
        put(&self.size.height.to_le_bytes());
        put(&self.stride.to_le_bytes());
        put(&self.length.to_le_bytes());
        put(&self.key);
        put(&self.hash);
        b
    }

    fn decode(b: &[u8; HEADER_LEN]) -> Result<Header, Bad> {
        if &b[..8] != MAGIC {
            return Err(Bad::Corrupt("not a cache entry".into()));
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if u32_at(8) != VERSION || u32_at(12) != host_tag() {
            return Err(Bad::Foreign);
        }
        let format = u8::try_from(u32_at(16)).map(PixelFormat).map_err(|_| Bad::Corrupt("bad format".into()))?;
        if format.bytes_per_pixel() == 0 {
            return Err(Bad::Corrupt(format!("unknown pixel format {}", format.0)));
        }
        let opaque = match u32_at(20) {
            0 => false,
            1 => true,
            v => return Err(Bad::Corrupt(format!("bad flags {v}"))),
        };
        let size = Size::new(u32_at(24), u32_at(28));
        let (stride, length) = (u64_at(32), u64_at(40));
        if size.width == 0
            || size.height == 0
            || size.width > crate::frame::MAX_SIDE
            || size.height > crate::frame::MAX_SIDE
            || size.pixels() > crate::frame::MAX_PIXELS
        {
            return Err(Bad::Corrupt(format!("bad size {}x{}", size.width, size.height)));
        }
        if stride != stride_for(size.width, format) as u64 || length != stride * u64::from(size.height) {
            return Err(Bad::Corrupt(format!("bad layout (stride {stride}, {length} bytes)")));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&b[48..80]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[80..112]);
        Ok(Header { format, opaque, size, stride, length, key, hash })
    }
}

impl DiskCache {
    /// Opens (creating it if needed) the cache folder `dir` with a budget of `budget` bytes; the
    /// folder is brought within the budget at once.
    pub fn open(dir: &Path, budget: u64) -> std::io::Result<DiskCache> {
        let entries = dir.join(SUBDIR);
        std::fs::create_dir_all(&entries)?;
        // A folder we cannot write to fails here, not at the first result.
        tempfile::NamedTempFile::new_in(&entries)?;
        let cache = DiskCache {
            dir: entries,
            budget,
            estimate: AtomicU64::new(0),
            writes_since_scan: AtomicU64::new(0),
            evicting: Mutex::new(()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
        };
        cache.evict();
        Ok(cache)
    }

    /// The folder entries are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The byte budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    fn path_of(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.frame", blake3::Hash::from(*key).to_hex()))
    }

    /// The frame stored under `key`, if there is a whole, intact one.
    pub fn get(&self, key: &Key) -> Option<Frame> {
        let path = self.path_of(key);
        let found = match File::open(&path) {
            Ok(file) => match read_entry(file, key) {
                Ok((frame, file)) => {
                    // The age eviction goes by. Another user's entry may refuse: it then ages
                    // from its writing.
                    let now = SystemTime::now();
                    let _ = file.set_times(FileTimes::new().set_accessed(now).set_modified(now));
                    Some(frame)
                }
                Err(Bad::Foreign) => None,
                Err(Bad::Corrupt(why)) => {
                    tracing::warn!("{}: corrupt cache entry ({why}); removed", path.display());
                    self.corrupt.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::remove_file(&path);
                    None
                }
            },
            Err(_) => None,
        };
        match &found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Stores `frame` under `key` (a temporary file renamed into place), then evicts the oldest
    /// entries if the folder is over its budget. Failures (a full disk) only cost the entry.
    pub fn insert(&self, key: &Key, frame: &Frame) {
        let bytes = (HEADER_LEN + frame.stride() * frame.size().height as usize) as u64;
        if bytes > self.budget {
            return;
        }
        match self.write_entry(key, frame) {
            Ok(()) => {
                self.writes.fetch_add(1, Ordering::Relaxed);
                let total = self.estimate.fetch_add(bytes, Ordering::Relaxed) + bytes;
                let writes = self.writes_since_scan.fetch_add(1, Ordering::Relaxed) + 1;
                if total > self.budget || writes >= RESCAN_WRITES {
                    self.evict();
                }
            }
            Err(e) => tracing::warn!("{}: cannot write a cache entry: {e}", self.dir.display()),
        }
    }

    fn write_entry(&self, key: &Key, frame: &Frame) -> std::io::Result<()> {
        let size = frame.size();
        let stride = stride_for(size.width, frame.format());
        let pad = vec![0u8; stride - frame.row(0).len()];
        let mut hasher = blake3::Hasher::new();
        for y in 0..size.height {
            hasher.update(frame.row(y));
            hasher.update(&pad);
        }
        let header = Header {
            format: frame.format(),
            opaque: frame.is_opaque(),
            size,
            stride: stride as u64,
            length: (stride * size.height as usize) as u64,
            key: *key,
            hash: *hasher.finalize().as_bytes(),
        };
        let tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(&self.dir)?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
            w.write_all(&header.encode())?;
            for y in 0..size.height {
                w.write_all(frame.row(y))?;
                w.write_all(&pad)?;
            }
            w.flush()?;
        }
        tmp.persist(self.path_of(key)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Lists the folder and removes the least recently used entries until the total is within
    /// the budget; removes temporary files left by killed writers.
    pub fn evict(&self) {
        let Ok(_one) = self.evicting.try_lock() else { return };
        self.writes_since_scan.store(0, Ordering::Relaxed);
        let Ok(list) = std::fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0u64;
        for e in list.flatten() {
            // A file that vanished since the listing was removed by another process.
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            let modified = meta.modified().unwrap_or(now);
            if name.starts_with(".tmp") {
                if now.duration_since(modified).is_ok_and(|age| age > STALE_TEMP) {
                    let _ = std::fs::remove_file(e.path());
                } else {
                    // Being written: it counts towards the total.
                    total += meta.len();
                }
                continue;
            }
            if name.ends_with(".frame") {
                total += meta.len();
                entries.push((modified, meta.len(), e.path()));
            }
        }
        if total > self.budget {
            entries.sort();
            for (_, len, path) in entries {
                if total <= self.budget {
                    break;
                }
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        self.evictions.fetch_add(1, Ordering::Relaxed);
                        total -= len;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
                    Err(_) => {}
                }
            }
        }
        self.estimate.store(total, Ordering::Relaxed);
    }

    /// The counters.
    pub fn stats(&self) -> DiskStats {
        DiskStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
        }
    }
}

/// Reads and checks an entry; gives the file back for its times to be set.
fn read_entry(mut file: File, key: &Key) -> Result<(Frame, File), Bad> {
    let io = |e: std::io::Error| Bad::Corrupt(format!("unreadable: {e}"));
    let mut head = [0u8; HEADER_LEN];
    file.read_exact(&mut head).map_err(|_| Bad::Corrupt("truncated header".into()))?;
    let h = Header::decode(&head)?;
    if &h.key != key {
        return Err(Bad::Corrupt("written for another key".into()));
    }
    let on_disk = file.metadata().map_err(io)?.len();
    if on_disk != HEADER_LEN as u64 + h.length {
        return Err(Bad::Corrupt(format!("{on_disk} bytes where the header says {}", HEADER_LEN as u64 + h.length)));
    }
    let mut frame = Frame::new_uninit(h.size, h.format);
    let len = h.length as usize;
    let buf = frame.bytes_mut();
    if buf.len() < len {
        return Err(Bad::Corrupt("bad layout".into()));
    }
    file.read_exact(&mut buf[..len]).map_err(|_| Bad::Corrupt("truncated pixels".into()))?;
    if blake3::hash(&buf[..len]).as_bytes() != &h.hash {
        return Err(Bad::Corrupt("the pixels do not match their hash".into()));
    }
    frame.set_opaque(h.opaque);
    Ok((frame, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, seed: u8) -> Frame {
        let px: Vec<u8> = (0..w * h * 4).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        Frame::from_rgba8(Size::new(w, h), &px)
    }

    fn key(n: u8) -> Key {
        *blake3::hash(&[n]).as_bytes()
    }

    fn entry_files(c: &DiskCache) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(c.dir()).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_written_entry_reads_back_with_its_pixels_format_and_opacity() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::open(dir.path(), 1 << 30).unwrap();
        let f = frame(37, 11, 5);
        c.insert(&key(1), &f);
        let g = c.get(&key(1)).expect("hit");
        assert_eq!((g.size(), g.format(), g.is_opaque()), (f.size(), f.format(), f.is_opaque()));
        assert_eq!(g.to_rgba8_vec(), f.to_rgba8_vec());
        let mut t = Frame::from_rgba32f(Size::new(5, 3), &[0.25; 60]);
        t.set_opaque(false);
        c.insert(&key(2), &t);
        let u = c.get(&key(2)).expect("hit");
        assert_eq!((u.format(), u.is_opaque(), u.to_rgba32f_vec()), (t.format(), false, t.to_rgba32f_vec()));
        assert!(c.get(&key(3)).is_none());
        assert_eq!(c.stats(), DiskStats { hits: 2, misses: 1, writes: 2, evictions: 0, corrupt: 0 });
        // Only whole entries in the folder: no temporary file is left behind.
        assert_eq!(entry_files(&c).len(), 2);
        assert!(entry_files(&c).iter().all(|p| p.extension().is_some_and(|e| e == "frame")));
    }

    #[test]
    fn a_damaged_entry_is_a_miss_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::open(dir.path(), 1 << 30).unwrap();
        let f = frame(16, 16, 9);
        type Damage = fn(&mut Vec<u8>);
        let damages: [(&str, Damage); 5] = [
            ("a flipped pixel bit", |b| {
                let i = b.len() - 7;
                b[i] ^= 1;
            }),
            ("truncated pixels", |b| b.truncate(b.len() - 1)),
            ("truncated header", |b| b.truncate(HEADER_LEN - 3)),
            ("a bad magic", |b| b[0] = b'X'),
            ("a forged size", |b| b[24] = b[24].wrapping_add(1)),
        ];
        for (what, damage) in damages {
            c.insert(&key(1), &f);
            let path = c.path_of(&key(1));
            let mut bytes = std::fs::read(&path).unwrap();
            damage(&mut bytes);
            std::fs::write(&path, &bytes).unwrap();
            assert!(c.get(&key(1)).is_none(), "{what}: used");
            assert!(!path.exists(), "{what}: not removed");
        }
        assert_eq!(c.stats().corrupt, 5);
        // An entry renamed to another key is not used for it.
        c.insert(&key(1), &f);
        std::fs::rename(c.path_of(&key(1)), c.path_of(&key(2))).unwrap();
        assert!(c.get(&key(2)).is_none());
        // And a good entry after all that still reads.
        c.insert(&key(1), &f);
        assert_eq!(c.get(&key(1)).unwrap().to_rgba8_vec(), f.to_rgba8_vec());
    }

    #[test]
    fn the_budget_evicts_the_least_recently_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        let f = frame(32, 32, 1);
        let one = (HEADER_LEN + f.byte_len()) as u64;
        // Room for three entries.
        let c = DiskCache::open(dir.path(), 3 * one + one / 2).unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(100);
        for n in 0..3u8 {
            c.insert(&key(n), &f);
            // Distinct ages, oldest first, whatever the file system's time resolution.
            let file = File::options().write(true).open(c.path_of(&key(n))).unwrap();
            file.set_modified(t0 + Duration::from_secs(u64::from(n) * 10)).unwrap();
        }
        // A hit makes entry 0 the most recently used.
        assert!(c.get(&key(0)).is_some());
        c.insert(&key(3), &f);
        let size: u64 = entry_files(&c).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        assert!(size <= c.budget(), "{size} bytes over a budget of {}", c.budget());
        assert!(c.get(&key(1)).is_none(), "the least recently used entry is kept");
        for n in [0, 2, 3] {
            assert!(c.get(&key(n)).is_some(), "entry {n} evicted");
        }
        assert_eq!(c.stats().evictions, 1);
        // Reopened with a smaller budget, the folder shrinks at once.
        let small = DiskCache::open(dir.path(), one).unwrap();
        assert_eq!(entry_files(&small).len(), 1);
        // An entry larger than the whole budget is not written.
        let tiny = DiskCache::open(dir.path(), 100).unwrap();
        tiny.insert(&key(9), &f);
        assert!(entry_files(&tiny).is_empty());
    }

    #[test]
    fn eviction_takes_files_removed_under_it_and_old_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = frame(8, 8, 2);
        let c = DiskCache::open(dir.path(), 1 << 30).unwrap();
        c.insert(&key(1), &f);
        let stale = c.dir().join(".tmpdead");
        std::fs::write(&stale, b"half").unwrap();
        File::options().write(true).open(&stale).unwrap().set_modified(SystemTime::now() - STALE_TEMP * 2).unwrap();
        let fresh = c.dir().join(".tmpbusy");
        std::fs::write(&fresh, b"being written").unwrap();
        std::fs::remove_file(c.path_of(&key(1))).unwrap();
        c.evict();
        assert!(!stale.exists());
        assert!(fresh.exists());
        assert!(c.get(&key(1)).is_none());
    }

    #[test]
    fn the_header_round_trips_and_rejects_another_host_version() {
        let h = Header {
            format: PixelFormat::RGBA8,
            opaque: true,
            size: Size::new(3, 2),
            stride: stride_for(3, PixelFormat::RGBA8) as u64,
            length: 2 * stride_for(3, PixelFormat::RGBA8) as u64,
            key: key(4),
            hash: key(5),
        };
        let mut b = h.encode();
        assert_eq!(Header::decode(&b), Ok(h));
        b[12] ^= 0xff;
        assert_eq!(Header::decode(&b), Err(Bad::Foreign));
    }
}
