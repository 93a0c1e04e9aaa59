//! Reading a legacy dump: the folder layout, and the documents of one collection in either
//! export format. No MongoDB server is involved.
//!
//! - mongodump: `DIR/<db>/<collection>.bson` (concatenated BSON documents), or `.bson.gz` with
//!   `--gzip`; the `.metadata.json` files beside them are not needed.
//! - mongoexport: `DIR/<db>/<collection>.json`, Extended JSON v2 (relaxed or canonical), one
//!   document per line (a `--jsonArray` file, one array, is read too).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bson::Document;

/// How a collection's file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Bson,
    BsonGz,
    Json,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub format: Format,
}

/// One database folder: its collections by name.
#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    pub collections: BTreeMap<String, SourceFile>,
    /// Files that were not read, with why (a second export of a collection, an unknown file).
    pub ignored: Vec<(PathBuf, &'static str)>,
}

/// MongoDB's own databases, never a store's.
const SYSTEM_DATABASES: &[&str] = &["admin", "config", "local"];

/// Finds the databases under `dir` (each sub-folder is one; a folder with collection files and
/// no sub-folders is itself one database), in name order.
pub fn scan(dir: &Path) -> anyhow::Result<Vec<Database>> {
    if !dir.is_dir() {
        bail!("--source {}: not a folder", dir.display());
    }
    let mut folders = Vec::new();
    let mut has_files = false;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if path.is_dir() {
            folders.push(path);
        } else if classify(&path).is_some() {
            has_files = true;
        }
    }
    if folders.is_empty() && has_files {
        folders.push(dir.to_path_buf());
    }
    folders.sort();
    let mut out = Vec::new();
    for folder in folders {
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if SYSTEM_DATABASES.contains(&name.as_str()) {
            continue;
        }
        out.push(scan_database(&folder, name)?);
    }
    Ok(out)
}

fn scan_database(folder: &Path, name: String) -> anyhow::Result<Database> {
    let mut db = Database { name, collections: BTreeMap::new(), ignored: Vec::new() };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    // BSON before JSON, so a collection exported both ways is read from its BSON.
    paths.sort_by_key(|p| (classify(p).map(|(_, f)| f != Format::Bson && f != Format::BsonGz), p.clone()));
    for path in paths {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if file_name.ends_with(".metadata.json") || file_name.ends_with(".metadata.json.gz") {
            continue;
        }
        match classify(&path) {
            Some((collection, format)) => {
                if collection.starts_with("system.") {
                    db.ignored.push((path, "a MongoDB system collection"));
                    continue;
                }
                match db.collections.entry(collection) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        db.ignored.push((path, "the collection was already read from another export of it"))
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(SourceFile { path, format });
                    }
                }
            }
            None => db.ignored.push((path, "not a .bson, .bson.gz or .json export")),
        }
    }
    Ok(db)
}

/// The collection name and format of an export file.
fn classify(path: &Path) -> Option<(String, Format)> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".metadata.json") {
        return None;
    }
    for (suffix, format) in [(".bson.gz", Format::BsonGz), (".bson", Format::Bson), (".json", Format::Json)] {
        if let Some(stem) = name.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return Some((stem.to_owned(), format));
        }
    }
    None
}

/// A document that could not be read, and where.
#[derive(Debug, Clone)]
pub struct Unreadable {
    /// The document's position in the file (1-based; a line for JSON).
    pub position: u64,
    pub error: String,
}

/// Reads every document of a file. A malformed document is returned as [`Unreadable`] and
/// reading goes on when the format allows it (JSON lines); a broken BSON stream ends the file.
pub fn read_all(file: &SourceFile) -> anyhow::Result<(Vec<Document>, Vec<Unreadable>)> {
    let mut docs = Vec::new();
    let mut bad = Vec::new();
    for_each(file, |item| {
        match item {
            Ok(d) => docs.push(d),
            Err(u) => bad.push(u),
        }
        Ok(())
    })?;
    Ok((docs, bad))
}

/// Counts the documents of a file without decoding them (for the progress bar's total).
pub fn count(file: &SourceFile) -> anyhow::Result<u64> {
    let open = || File::open(&file.path).with_context(|| format!("opening {}", file.path.display()));
    match file.format {
        Format::Bson => count_bson(BufReader::new(open()?)),
        Format::BsonGz => count_bson(BufReader::new(flate2::read::MultiGzDecoder::new(open()?))),
        Format::Json => {
            let mut reader = BufReader::new(open()?);
            if starts_with_array(&mut reader)? {
                let (docs, bad) = read_all(file)?;
                return Ok((docs.len() + bad.len()) as u64);
            }
            let mut n = 0;
            for line in reader.split(b'\n') {
                if !line?.iter().all(u8::is_ascii_whitespace) {
                    n += 1;
                }
            }
            Ok(n)
        }
    }
}

fn count_bson(mut r: impl Read) -> anyhow::Result<u64> {
    let mut n = 0;
    let mut sink = std::io::sink();
    while let Some(len) = read_len(&mut r)? {
        let copied = std::io::copy(&mut (&mut r).take(len - 4), &mut sink)?;
        if copied < len - 4 {
            break;
        }
        n += 1;
    }
    Ok(n)
}

/// The next document's length, or None at the end of the stream.
fn read_len(r: &mut impl Read) -> anyhow::Result<Option<u64>> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            bail!("the file ends inside a document's length");
        }
        got += n;
    }
    let len = i32::from_le_bytes(buf);
    if len < 5 {
        bail!("a document claims a length of {len} bytes");
    }
    Ok(Some(len as u64))
}

fn starts_with_array(r: &mut impl BufRead) -> anyhow::Result<bool> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF) {
            Some(i) => return Ok(buf[i] == b'['),
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

/// Calls `f` with each document of the file, in file order.
pub fn for_each(
    file: &SourceFile,
    mut f: impl FnMut(Result<Document, Unreadable>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let open = || File::open(&file.path).with_context(|| format!("opening {}", file.path.display()));
    let context = || format!("reading {}", file.path.display());
    match file.format {
        Format::Bson => each_bson(BufReader::with_capacity(1 << 16, open()?), &mut f).with_context(context),
        Format::BsonGz => {
            each_bson(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(open()?)), &mut f)
                .with_context(context)
        }
        Format::Json => each_json(BufReader::with_capacity(1 << 16, open()?), &mut f).with_context(context),
    }
}

fn each_bson(
    mut r: impl Read,
    f: &mut impl FnMut(Result<Document, Unreadable>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut position = 0;
    loop {
        let len = match read_len(&mut r) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(()),
            Err(e) => {
                // A broken stream: the rest of the file cannot be framed.
                return f(Err(Unreadable { position: position + 1, error: format!("{e:#}; the rest of the file") }));
            }
        };
        position += 1;
        let mut bytes = Vec::with_capacity(len as usize);
        bytes.extend_from_slice(&(len as i32).to_le_bytes());
        (&mut r).take(len - 4).read_to_end(&mut bytes)?;
        if (bytes.len() as u64) < len {
            return f(Err(Unreadable { position, error: "the file ends inside a document".into() }));
        }
        let doc = bson::RawDocumentBuf::from_bytes(bytes)
            .and_then(Document::try_from)
            .map_err(|e| Unreadable { position, error: e.to_string() });
        f(doc)?;
    }
}

fn each_json(
    mut r: impl BufRead,
    f: &mut impl FnMut(Result<Document, Unreadable>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if starts_with_array(&mut r)? {
        let mut text = String::new();
        r.read_to_string(&mut text)?;
        let values: Vec<serde_json::Value> =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).context("a JSON array of documents")?;
        for (i, v) in values.into_iter().enumerate() {
            f(json_document(v).map_err(|error| Unreadable { position: i as u64 + 1, error }))?;
        }
        return Ok(());
    }
    let mut line = Vec::new();
    let mut position = 0;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        position += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        let doc = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| e.to_string())
            .and_then(json_document)
            .map_err(|error| Unreadable { position, error });
        f(doc)?;
    }
}

/// An Extended JSON v2 document (relaxed or canonical) as BSON.
fn json_document(v: serde_json::Value) -> Result<Document, String> {
    match v {
        serde_json::Value::Object(map) => Document::try_from(map).map_err(|e| e.to_string()),
        _ => Err("not a JSON object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("tills-read-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("pos1")).unwrap();
        let path = dir.join("pos1").join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_bson_gzip_and_both_json_forms() {
        let a = bson::doc! { "_id": bson::oid::ObjectId::new(), "price": 12.5 };
        let b = bson::doc! { "_id": bson::oid::ObjectId::new(), "price": "3.10" };
        let mut bytes = Vec::new();
        a.to_writer(&mut bytes).unwrap();
        b.to_writer(&mut bytes).unwrap();
        let (dir, path) = temp("s1_products.bson", &bytes);
        let file = SourceFile { path, format: Format::Bson };
        assert_eq!(count(&file).unwrap(), 2);
        let (docs, bad) = read_all(&file).unwrap();
        assert_eq!(docs, vec![a.clone(), b.clone()]);
        assert!(bad.is_empty());

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let gz_path = dir.join("pos1").join("s1_sales.bson.gz");
        std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
        let file = SourceFile { path: gz_path, format: Format::BsonGz };
        assert_eq!(count(&file).unwrap(), 2);
        assert_eq!(read_all(&file).unwrap().0, vec![a, b]);

        let lines = "{\"_id\":{\"$oid\":\"65f000000000000000000001\"},\"price\":{\"$numberDecimal\":\"12.50\"},\
                     \"createdAt\":{\"$date\":\"2024-03-01T10:00:00Z\"}}\n\nnot json\n\
                     {\"_id\":{\"$oid\":\"65f000000000000000000002\"},\"stock\":{\"$numberDouble\":\"2.5\"}}\n";
        let json_path = dir.join("pos1").join("s1_customers.json");
        std::fs::write(&json_path, lines).unwrap();
        let file = SourceFile { path: json_path, format: Format::Json };
        assert_eq!(count(&file).unwrap(), 3);
        let (docs, bad) = read_all(&file).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].position, 3);
        assert!(matches!(docs[0].get("price"), Some(bson::Bson::Decimal128(_))));
        assert!(matches!(docs[0].get("createdAt"), Some(bson::Bson::DateTime(_))));

        let array_path = dir.join("pos1").join("s1_units.json");
        std::fs::write(&array_path, "[{\"_id\":{\"$oid\":\"65f000000000000000000003\"},\"name\":\"kg\"}]").unwrap();
        let file = SourceFile { path: array_path, format: Format::Json };
        assert_eq!(read_all(&file).unwrap().0.len(), 1);

        let dbs = scan(&dir).unwrap();
        assert_eq!(dbs.len(), 1);
        assert_eq!(
            dbs[0].collections.keys().cloned().collect::<Vec<_>>(),
            ["s1_customers", "s1_products", "s1_sales", "s1_units"]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_truncated_bson_file_reports_the_broken_document() {
        let a = bson::doc! { "_id": 1, "name": "x" };
        let mut bytes = Vec::new();
        a.to_writer(&mut bytes).unwrap();
        a.to_writer(&mut bytes).unwrap();
        bytes.truncate(bytes.len() - 3);
        let (dir, path) = temp("t_products.bson", &bytes);
        let (docs, bad) = read_all(&SourceFile { path, format: Format::Bson }).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(bad.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
