//! Rescue files (`hearth-rescue/v1`): what a tablet that cannot reach the
//! server for days exports so an operator can carry it over by hand
//! (`hearth-server import FILE`).
//!
//! JSON Lines, UTF-8, one object per line, each line ended by `\n`:
//!
//! 1. the header `{"format":"hearth-rescue/v1","device_id":…,"exported_at_ms":…,"entries":N,"blobs":M}`;
//! 2. `N` lines `{"entry": <wire envelope, §3.4>}`, in ascending `seq`, all of the header's device;
//! 3. `M` lines `{"blob": {"sha256","media_type","size","data"}}`, `data` the bytes in base64url
//!    without padding.
//!
//! The file carries envelopes exactly as they would travel in a push, so the
//! server ingests them with the same checks and answers. The reader checks
//! only what makes the file a file: the header, each line's shape, the order
//! and device of the entries (read leniently from the entry bytes, as the
//! server names even a rejected entry), every blob's hash and size, and that
//! the counts match the header, so a truncated file is never taken for a
//! whole one. Whether an entry is canonical and its signatures verify is the
//! ingest's to judge.
//!
//! Pure: it reads and writes through `std::io` traits only. Blobs can be tens
//! of megabytes, so [`RescueReader`] streams one line at a time.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::b64;
use crate::hash::{self, Digest};
use crate::record::Envelope;

/// The format name in the header of every rescue file this version writes and reads.
pub const RESCUE_FORMAT: &str = "hearth-rescue/v1";

/// The longest line the reader accepts: a 64 MiB blob in base64url with room
/// to spare. Anything longer is refused before it fills memory.
pub const MAX_LINE_BYTES: usize = 96 * 1024 * 1024;

/// Line 1 of a rescue file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueHeader {
    /// Always [`RESCUE_FORMAT`].
    pub format: String,
    /// The tablet whose chain the entries continue.
    pub device_id: String,
    /// Device time of the export (a claim, like every device time).
    pub exported_at_ms: i64,
    /// How many entry lines follow.
    pub entries: u64,
    /// How many blob lines follow the entries.
    pub blobs: u64,
}

impl RescueHeader {
    pub fn new(device_id: impl Into<String>, exported_at_ms: i64, entries: u64, blobs: u64) -> Self {
        Self { format: RESCUE_FORMAT.to_owned(), device_id: device_id.into(), exported_at_ms, entries, blobs }
    }
}

/// A file a record refers to by its SHA-256, carried whole.
#[derive(Clone, PartialEq, Eq)]
pub struct RescueBlob {
    pub sha256: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

// Photos run to megabytes: Debug shows their size, not their bytes.
impl fmt::Debug for RescueBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RescueBlob")
            .field("sha256", &self.sha256)
            .field("media_type", &self.media_type)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// One line after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RescueItem {
    Entry(Envelope),
    Blob(RescueBlob),
}

/// A whole rescue file in memory (see [`read_rescue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescueFile {
    pub header: RescueHeader,
    pub entries: Vec<Envelope>,
    pub blobs: Vec<RescueBlob>,
}

/// Why a file is not a readable rescue file. Lines are numbered from 1, the header being line 1.
#[derive(Debug, thiserror::Error)]
pub enum RescueError {
    #[error("reading the rescue file: {0}")]
    Io(#[from] io::Error),
    #[error("not a rescue file: {0}")]
    NotRescueFile(String),
    #[error("rescue format {0:?} is not one this program reads ({RESCUE_FORMAT})")]
    UnknownFormat(String),
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error("line {line}: blob {sha256} does not hash to its sha256; the file was damaged or altered")]
    BlobHashMismatch { line: u64, sha256: Digest },
    #[error(
        "the header announces {announced} {what} but the file holds {found}; it is truncated or was altered"
    )]
    CountMismatch { what: &'static str, announced: u64, found: u64 },
    #[error("line {line}: entry seq {seq} follows seq {previous}; entries must be in ascending seq order")]
    OutOfOrder { line: u64, seq: u64, previous: u64 },
    #[error("line {line}: entry seq {seq} belongs to device {found:?}, not to {expected:?} of the header")]
    DeviceMismatch { line: u64, seq: u64, expected: String, found: String },
}

impl RescueError {
    /// Stable machine code for `{code, message}` boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "io",
            Self::NotRescueFile(_) => "not_a_rescue_file",
            Self::UnknownFormat(_) => "unknown_rescue_format",
            Self::Malformed { .. } => "malformed_line",
            Self::BlobHashMismatch { .. } => "blob_hash_mismatch",
            Self::CountMismatch { .. } => "count_mismatch",
            Self::OutOfOrder { .. } => "entry_out_of_order",
            Self::DeviceMismatch { .. } => "device_mismatch",
        }
    }
}

/// A line after the header, as written: `{"entry": …}` or `{"blob": …}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line<E, B> {
    Entry(E),
    Blob(B),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlobLine {
    sha256: Digest,
    media_type: String,
    size: u64,
    data: String,
}

/// The device and seq an entry claims, read leniently from its bytes; `None`
/// when they cannot be read at all.
fn entry_position(env: &Envelope) -> Option<(String, u64)> {
    let bytes = b64::decode(&env.entry)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let device_id = value.get("device_id")?.as_str()?.to_owned();
    let seq = value.get("seq")?.as_u64()?;
    Some((device_id, seq))
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Writes a rescue file: the header at once, then every entry, then every
/// blob. It refuses what the reader would refuse, so it never produces a
/// file that cannot be imported.
#[derive(Debug)]
pub struct RescueWriter<W: Write> {
    out: W,
    header: RescueHeader,
    entries: u64,
    blobs: u64,
    last_seq: Option<u64>,
}

impl<W: Write> RescueWriter<W> {
    /// Writes `header` (whose counts the caller must then honour).
    pub fn new(mut out: W, header: RescueHeader) -> io::Result<Self> {
        if header.format != RESCUE_FORMAT {
            return Err(invalid_input(format!("the header's format must be {RESCUE_FORMAT}")));
        }
        if header.device_id.is_empty() {
            return Err(invalid_input("the header must name the device".into()));
        }
        write_line(&mut out, &header)?;
        Ok(Self { out, header, entries: 0, blobs: 0, last_seq: None })
    }

    /// Writes one envelope; envelopes come in ascending seq order, all of the header's device.
    pub fn entry(&mut self, envelope: &Envelope) -> io::Result<()> {
        if self.blobs > 0 {
            return Err(invalid_input("entries are written before any blob".into()));
        }
        if self.entries >= self.header.entries {
            return Err(invalid_input(format!("the header announces {} entries", self.header.entries)));
        }
        let (device_id, seq) = entry_position(envelope)
            .ok_or_else(|| invalid_input("the entry's bytes do not name a device_id and seq".into()))?;
        if device_id != self.header.device_id {
            return Err(invalid_input(format!(
                "entry seq {seq} belongs to device {device_id:?}, not {:?}",
                self.header.device_id
            )));
        }
        if let Some(previous) = self.last_seq.filter(|&p| seq <= p) {
            return Err(invalid_input(format!("entry seq {seq} after seq {previous}: not ascending")));
        }
        write_line(&mut self.out, &Line::<_, ()>::Entry(envelope))?;
        self.entries += 1;
        self.last_seq = Some(seq);
        Ok(())
    }

    /// Writes one blob after all the entries; `sha256` must be the SHA-256 of `bytes`.
    pub fn blob(&mut self, sha256: Digest, media_type: &str, bytes: &[u8]) -> io::Result<()> {
        if self.entries != self.header.entries {
            return Err(invalid_input(format!(
                "write all {} entries before the first blob ({} so far)",
                self.header.entries, self.entries
            )));
        }
        if self.blobs >= self.header.blobs {
            return Err(invalid_input(format!("the header announces {} blobs", self.header.blobs)));
        }
        if hash::blob_id(bytes) != sha256 {
            return Err(invalid_input(format!("the bytes given for blob {sha256} hash to something else")));
        }
        let line = BlobLine {
            sha256,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
            data: b64::encode(bytes),
        };
        write_line(&mut self.out, &Line::<(), _>::Blob(line))?;
        self.blobs += 1;
        Ok(())
    }

    /// Checks that everything the header announced was written, flushes, and hands the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        if (self.entries, self.blobs) != (self.header.entries, self.header.blobs) {
            return Err(invalid_input(format!(
                "the header announces {} entries and {} blobs; {} and {} were written",
                self.header.entries, self.header.blobs, self.entries, self.blobs
            )));
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_line<W: Write, T: Serialize>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Reads a rescue file one line at a time: the header first (in [`RescueReader::new`]),
/// then each entry and blob as it comes. After the last item it checks the counts;
/// after an error it yields nothing more.
#[derive(Debug)]
pub struct RescueReader<R: BufRead> {
    input: R,
    header: RescueHeader,
    /// The number of the last line read.
    line: u64,
    entries: u64,
    blobs: u64,
    last_seq: Option<u64>,
    finished: bool,
}

impl<R: BufRead> RescueReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, RescueError> {
        let text = match read_line(&mut input, 1)? {
            Some(text) => text,
            None => return Err(RescueError::NotRescueFile("the file is empty".into())),
        };
        let value: Value = serde_json::from_slice(&text)
            .map_err(|_| RescueError::NotRescueFile("its first line is not a JSON object".into()))?;
        let format = value
            .get("format")
            .and_then(Value::as_str)
            .ok_or_else(|| RescueError::NotRescueFile("its first line has no \"format\"".into()))?;
        if format != RESCUE_FORMAT {
            return Err(RescueError::UnknownFormat(format.to_owned()));
        }
        let header: RescueHeader = serde_json::from_value(value)
            .map_err(|e| RescueError::Malformed { line: 1, reason: format!("header: {e}") })?;
        if header.device_id.is_empty() {
            return Err(RescueError::Malformed { line: 1, reason: "the header names no device".into() });
        }
        Ok(Self { input, header, line: 1, entries: 0, blobs: 0, last_seq: None, finished: false })
    }

    pub fn header(&self) -> &RescueHeader {
        &self.header
    }

    /// The next entry or blob; `Ok(None)` at the end of a complete file.
    pub fn next_item(&mut self) -> Result<Option<RescueItem>, RescueError> {
        if self.finished {
            return Ok(None);
        }
        let item = self.read_item();
        // Stop at the end and at the first error: nothing after it can be trusted.
        if !matches!(item, Ok(Some(_))) {
            self.finished = true;
        }
        item
    }

    fn read_item(&mut self) -> Result<Option<RescueItem>, RescueError> {
        let line = self.line + 1;
        let Some(text) = read_line(&mut self.input, line)? else {
            return self.at_end().map(|()| None);
        };
        self.line = line;
        let malformed = |reason: String| RescueError::Malformed { line, reason };
        let parsed: Line<Envelope, BlobLine> = serde_json::from_slice(&text)
            .map_err(|e| malformed(format!("not an {{\"entry\"}} or {{\"blob\"}} line: {e}")))?;
        match parsed {
            Line::Entry(envelope) => self.entry(line, envelope).map(Some),
            Line::Blob(blob) => self.blob(line, blob).map(Some),
        }
    }

    fn entry(&mut self, line: u64, envelope: Envelope) -> Result<RescueItem, RescueError> {
        if self.blobs > 0 {
            return Err(RescueError::Malformed { line, reason: "an entry after the blobs".into() });
        }
        if self.entries >= self.header.entries {
            return Err(RescueError::CountMismatch {
                what: "entries",
                announced: self.header.entries,
                found: self.entries + 1,
            });
        }
        let (device_id, seq) = entry_position(&envelope).ok_or_else(|| RescueError::Malformed {
            line,
            reason: "the entry's bytes do not name a device_id and seq".into(),
        })?;
        if device_id != self.header.device_id {
            return Err(RescueError::DeviceMismatch {
                line,
                seq,
                expected: self.header.device_id.clone(),
                found: device_id,
            });
        }
        if let Some(previous) = self.last_seq.filter(|&p| seq <= p) {
            return Err(RescueError::OutOfOrder { line, seq, previous });
        }
        self.entries += 1;
        self.last_seq = Some(seq);
        Ok(RescueItem::Entry(envelope))
    }

    fn blob(&mut self, line: u64, blob: BlobLine) -> Result<RescueItem, RescueError> {
        // The blobs start only once every entry was read: fewer entries means a damaged file.
        if self.entries != self.header.entries {
            return Err(RescueError::CountMismatch {
                what: "entries",
                announced: self.header.entries,
                found: self.entries,
            });
        }
        if self.blobs >= self.header.blobs {
            return Err(RescueError::CountMismatch {
                what: "blobs",
                announced: self.header.blobs,
                found: self.blobs + 1,
            });
        }
        let bytes = b64::decode(&blob.data).ok_or_else(|| RescueError::Malformed {
            line,
            reason: format!("the data of blob {} is not base64url without padding", blob.sha256),
        })?;
        if bytes.len() as u64 != blob.size {
            return Err(RescueError::Malformed {
                line,
                reason: format!("blob {} is {} bytes, its size says {}", blob.sha256, bytes.len(), blob.size),
            });
        }
        if hash::blob_id(&bytes) != blob.sha256 {
            return Err(RescueError::BlobHashMismatch { line, sha256: blob.sha256 });
        }
        self.blobs += 1;
        Ok(RescueItem::Blob(RescueBlob { sha256: blob.sha256, media_type: blob.media_type, bytes }))
    }

    fn at_end(&self) -> Result<(), RescueError> {
        if self.entries != self.header.entries {
            return Err(RescueError::CountMismatch {
                what: "entries",
                announced: self.header.entries,
                found: self.entries,
            });
        }
        if self.blobs != self.header.blobs {
            return Err(RescueError::CountMismatch {
                what: "blobs",
                announced: self.header.blobs,
                found: self.blobs,
            });
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for RescueReader<R> {
    type Item = Result<RescueItem, RescueError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// Reads line `number` without its `\n` (a last line may lack it); `None` at
/// the end of the input. A line longer than [`MAX_LINE_BYTES`] or an empty one is malformed.
fn read_line<R: BufRead>(input: &mut R, number: u64) -> Result<Option<Vec<u8>>, RescueError> {
    let mut text = Vec::new();
    // One byte past the limit tells a line at the limit from a longer one.
    let limit = MAX_LINE_BYTES as u64 + 1;
    input.by_ref().take(limit).read_until(b'\n', &mut text)?;
    if text.is_empty() {
        return Ok(None);
    }
    if text.last() == Some(&b'\n') {
        text.pop();
    } else if text.len() as u64 >= limit {
        return Err(RescueError::Malformed {
            line: number,
            reason: format!("longer than {MAX_LINE_BYTES} bytes"),
        });
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(RescueError::Malformed { line: number, reason: "an empty line".into() });
    }
    Ok(Some(text))
}

/// Reads a whole rescue file into memory. For large files prefer [`RescueReader`].
pub fn read_rescue<R: BufRead>(input: R) -> Result<RescueFile, RescueError> {
    let mut reader = RescueReader::new(input)?;
    let mut entries = Vec::new();
    let mut blobs = Vec::new();
    while let Some(item) = reader.next_item()? {
        match item {
            RescueItem::Entry(envelope) => entries.push(envelope),
            RescueItem::Blob(blob) => blobs.push(blob),
        }
    }
    Ok(RescueFile { header: reader.header, entries, blobs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Content, Created};
    use crate::seal::{ChainPosition, Cosigning, EncodedContent, seal};
    use ed25519_dalek::SigningKey;
    use serde_json::Map;

    const DEVICE: &str = "dev-rescue-1";

    /// A chain of `n` sealed envelopes of `device` from seq 1.
    fn chain(device: &str, n: u64) -> Vec<Envelope> {
        let key = SigningKey::from_bytes(&[9; 32]);
        let mut prev = hash::genesis_prev(device);
        (1..=n)
            .map(|seq| {
                let content = Content {
                    schema: "hearth.visit_step/1".into(),
                    record_id: format!("01890a5d-ac96-774b-bcce-{seq:012x}"),
                    work_order_id: None,
                    created: Created {
                        device_time_ms: 1_700_000_000_000,
                        tz_offset_min: 480,
                        boot_id: "boot-1".into(),
                        monotonic_ms: seq as i64,
                        last_server_time_ms: None,
                    },
                    signers: vec![],
                    supersedes: None,
                    attachments: vec![],
                    refs: vec![],
                    data: Map::new(),
                };
                let signed = Cosigning::new(EncodedContent::encode(content).unwrap()).finish().unwrap();
                let position = ChainPosition {
                    device_id: device.into(),
                    seq,
                    prev,
                    sealed_at_ms: 1_700_000_000_000,
                    last_receipt_seq: None,
                };
                let sealed = seal(&signed, position, &key).unwrap();
                prev = sealed.entry_hash;
                sealed.envelope
            })
            .collect()
    }

    fn blobs() -> Vec<(Digest, &'static str, Vec<u8>)> {
        [(b"a photo".to_vec(), "image/jpeg"), (vec![0u8, 255, 10, 13, 7], "image/png")]
            .into_iter()
            .map(|(bytes, media)| (hash::blob_id(&bytes), media, bytes))
            .collect()
    }

    fn write(entries: &[Envelope], blobs: &[(Digest, &str, Vec<u8>)]) -> Vec<u8> {
        let header = RescueHeader::new(DEVICE, 1_700_000_100_000, entries.len() as u64, blobs.len() as u64);
        let mut w = RescueWriter::new(Vec::new(), header).unwrap();
        for e in entries {
            w.entry(e).unwrap();
        }
        for (sha, media, bytes) in blobs {
            w.blob(*sha, media, bytes).unwrap();
        }
        w.finish().unwrap()
    }

    fn lines(file: &[u8]) -> Vec<String> {
        String::from_utf8(file.to_vec()).unwrap().lines().map(str::to_owned).collect()
    }

    fn join(lines: &[String]) -> Vec<u8> {
        lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect()
    }

    #[test]
    fn a_written_file_reads_back_the_same_entries_and_blobs() {
        let entries = chain(DEVICE, 5);
        let blobs = blobs();
        let file = write(&entries, &blobs);
        let text = lines(&file);
        assert_eq!(text.len(), 1 + 5 + 2, "one line each: {text:?}");
        assert!(text[0].starts_with(r#"{"format":"hearth-rescue/v1","device_id":"dev-rescue-1""#));
        assert!(text[1].starts_with(r#"{"entry":{"entry":"#), "{}", text[1]);
        assert!(text[6].starts_with(r#"{"blob":{"sha256":""#), "{}", text[6]);

        let read = read_rescue(&file[..]).unwrap();
        assert_eq!(read.header, RescueHeader::new(DEVICE, 1_700_000_100_000, 5, 2));
        assert_eq!(read.entries, entries);
        let got: Vec<_> =
            read.blobs.iter().map(|b| (b.sha256, b.media_type.as_str(), b.bytes.clone())).collect();
        assert_eq!(got, blobs);
    }

    #[test]
    fn the_streaming_reader_yields_items_in_file_order() {
        let file = write(&chain(DEVICE, 2), &blobs()[..1]);
        let mut reader = RescueReader::new(&file[..]).unwrap();
        assert_eq!(reader.header().entries, 2);
        let kinds: Vec<&str> = reader
            .by_ref()
            .map(|item| match item.unwrap() {
                RescueItem::Entry(_) => "entry",
                RescueItem::Blob(_) => "blob",
            })
            .collect();
        assert_eq!(kinds, ["entry", "entry", "blob"]);
        assert!(reader.next().is_none(), "the reader stays at the end");
    }

    #[test]
    fn an_empty_export_is_a_valid_file() {
        let read = read_rescue(&write(&[], &[])[..]).unwrap();
        assert!(read.entries.is_empty() && read.blobs.is_empty());
    }

    #[test]
    fn a_truncated_file_is_refused_with_the_counts() {
        let file = lines(&write(&chain(DEVICE, 3), &blobs()));
        let no_last_blob = join(&file[..file.len() - 1]);
        let err = read_rescue(&no_last_blob[..]).unwrap_err();
        assert!(
            matches!(err, RescueError::CountMismatch { what: "blobs", announced: 2, found: 1 }),
            "{err:?}"
        );
        assert_eq!(err.code(), "count_mismatch");

        let no_blobs_no_last_entry = join(&file[..3]);
        let err = read_rescue(&no_blobs_no_last_entry[..]).unwrap_err();
        assert!(matches!(err, RescueError::CountMismatch { what: "entries", announced: 3, found: 2 }));

        // Cut in the middle of a line: the last line is not JSON.
        let mut cut = join(&file);
        cut.truncate(cut.len() - 10);
        let err = read_rescue(&cut[..]).unwrap_err();
        assert!(matches!(err, RescueError::Malformed { line: 6, .. }), "{err:?}");

        // A line more than announced is refused too.
        let mut extra = file.clone();
        extra.push(file[5].clone());
        let err = read_rescue(&join(&extra)[..]).unwrap_err();
        assert!(matches!(err, RescueError::CountMismatch { what: "blobs", announced: 2, found: 3 }));
    }

    #[test]
    fn a_tampered_blob_is_refused_naming_its_hash() {
        let blobs = blobs();
        let mut file = lines(&write(&chain(DEVICE, 1), &blobs));
        let mut line: Value = serde_json::from_str(&file[2]).unwrap();
        let mut bytes = blobs[0].2.clone();
        bytes[0] ^= 1;
        line["blob"]["data"] = Value::String(b64::encode(&bytes));
        file[2] = line.to_string();
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(matches!(err, RescueError::BlobHashMismatch { line: 3, sha256 } if sha256 == blobs[0].0));
        assert!(err.to_string().contains(&blobs[0].0.to_hex()), "the message names the blob: {err}");
        assert_eq!(err.code(), "blob_hash_mismatch");

        // A size that disagrees with the data is refused as well.
        let mut line: Value = serde_json::from_str(&lines(&write(&[], &blobs))[1]).unwrap();
        line["blob"]["size"] = Value::from(3);
        let file = join(&[lines(&write(&[], &blobs))[0].clone(), line.to_string()]);
        assert!(matches!(read_rescue(&file[..]).unwrap_err(), RescueError::Malformed { line: 2, .. }));
    }

    #[test]
    fn a_file_of_another_format_or_none_is_refused() {
        let mut file = lines(&write(&[], &[]));
        file[0] = file[0].replace("hearth-rescue/v1", "hearth-rescue/v2");
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(matches!(&err, RescueError::UnknownFormat(f) if f == "hearth-rescue/v2"), "{err:?}");
        assert_eq!(err.code(), "unknown_rescue_format");

        for not_rescue in [&b""[..], b"\x89PNG\r\n\x1a\n", b"{\"entries\":[]}\n", b"[1,2]\n"] {
            let err = read_rescue(not_rescue).unwrap_err();
            assert_eq!(err.code(), "not_a_rescue_file", "{not_rescue:?}: {err:?}");
        }
        let unknown_field = br#"{"format":"hearth-rescue/v1","device_id":"d","exported_at_ms":1,"entries":0,"blobs":0,"x":1}"#;
        assert!(matches!(
            read_rescue(&unknown_field[..]).unwrap_err(),
            RescueError::Malformed { line: 1, .. }
        ));
    }

    #[test]
    fn entries_out_of_order_or_of_another_device_are_refused() {
        let entries = chain(DEVICE, 3);
        let mut file = lines(&write(&entries, &[]));
        file.swap(2, 3);
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(matches!(err, RescueError::OutOfOrder { line: 4, seq: 2, previous: 3 }), "{err:?}");
        assert_eq!(err.code(), "entry_out_of_order");

        let mut file = lines(&write(&entries, &[]));
        file[2] = file[1].clone();
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(
            matches!(err, RescueError::OutOfOrder { seq: 1, previous: 1, .. }),
            "a repeat is not ascending"
        );

        let other = chain("dev-other", 1);
        let mut file = lines(&write(&entries, &[]));
        file[2] = serde_json::json!({ "entry": other[0] }).to_string();
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(matches!(&err, RescueError::DeviceMismatch { line: 3, found, .. } if found == "dev-other"));
    }

    #[test]
    fn blank_lines_and_stray_lines_are_malformed_with_their_number() {
        let mut file = lines(&write(&chain(DEVICE, 2), &[]));
        file.insert(2, String::new());
        assert!(matches!(read_rescue(&join(&file)[..]).unwrap_err(), RescueError::Malformed { line: 3, .. }));

        let mut file = lines(&write(&chain(DEVICE, 2), &[]));
        file[1] = r#"{"note":"hello"}"#.into();
        let err = read_rescue(&join(&file)[..]).unwrap_err();
        assert!(matches!(err, RescueError::Malformed { line: 2, .. }));
        assert!(err.to_string().starts_with("line 2: "), "{err}");
    }

    #[test]
    fn the_writer_refuses_what_the_reader_would_refuse() {
        let entries = chain(DEVICE, 2);
        let header = || RescueHeader::new(DEVICE, 0, 2, 1);
        let mut w = RescueWriter::new(Vec::new(), header()).unwrap();
        w.entry(&entries[1]).unwrap();
        assert!(w.entry(&entries[0]).is_err(), "descending seq");

        let mut w = RescueWriter::new(Vec::new(), header()).unwrap();
        assert!(w.entry(&chain("dev-other", 1)[0]).is_err(), "another device");
        w.entry(&entries[0]).unwrap();
        assert!(w.blob(hash::blob_id(b"x"), "image/png", b"x").is_err(), "a blob before every entry");
        w.entry(&entries[1]).unwrap();
        assert!(w.blob(hash::blob_id(b"y"), "image/png", b"x").is_err(), "bytes of another hash");
        let unfinished = RescueWriter::new(Vec::new(), header()).unwrap();
        assert!(unfinished.finish().is_err(), "fewer items than the header announces");
        w.blob(hash::blob_id(b"x"), "image/png", b"x").unwrap();
        assert!(w.blob(hash::blob_id(b"x"), "image/png", b"x").is_err(), "more blobs than announced");
        assert!(w.finish().is_ok());

        let mut bad = header();
        bad.format = "other".into();
        assert!(RescueWriter::new(Vec::new(), bad).is_err());
    }
}
