//! A numeric table read from CSV, plain or gzipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::{BenchError, Result};

/// A CSV table: a header, then rows of fields. Numeric columns are parsed on demand.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    header: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Vec<String>>,
    /// The 1-based file line of each row (blank lines are skipped).
    lines: Vec<usize>,
}

impl Table {
    /// Reads a CSV file; a name ending in `.gz` (or a gzip magic number) is decompressed.
    pub fn read(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(io_error(&path, None))?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(io_error(&path, None))?;
        let file = File::open(&path).map_err(io_error(&path, None))?;
        let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::new(MultiGzDecoder::new(BufReader::new(file))))
        } else {
            Box::new(BufReader::new(file))
        };
        Table::from_reader(path, reader)
    }

    /// Reads a plain-text CSV from `reader`; `path` names the source in errors and is what
    /// [`Table::path`] returns. [`Table::read`] is this on the (decompressed) file.
    pub fn from_reader(path: impl Into<PathBuf>, reader: impl BufRead) -> Result<Table> {
        let path = path.into();
        let mut lines = reader.lines();
        let header_line = match lines.next() {
            Some(line) => line.map_err(io_error(&path, Some(1)))?,
            None => {
                return Err(BenchError::Parse {
                    path,
                    line: 1,
                    message: "the file is empty: expected a header line".into(),
                })
            }
        };
        let header: Vec<String> = split_csv(&header_line)
            .into_iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut index = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                return Err(BenchError::Parse {
                    path,
                    line: 1,
                    message: format!("column `{name}` appears twice in the header"),
                });
            }
        }
        let mut rows = Vec::new();
        let mut row_lines = Vec::new();
        for (i, line) in lines.enumerate() {
            let number = i + 2;
            let line = line.map_err(io_error(&path, Some(number)))?;
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = split_csv(&line);
            if fields.len() != header.len() {
                return Err(BenchError::Parse {
                    path,
                    line: number,
                    message: format!(
                        "expected {} fields as in the header, found {}",
                        header.len(),
                        fields.len()
                    ),
                });
            }
            rows.push(fields);
            row_lines.push(number);
        }
        Ok(Table {
            path,
            header,
            index,
            rows,
            lines: row_lines,
        })
    }

    /// The file the table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The 1-based line of the file that holds data row `row`.
    pub fn line(&self, row: usize) -> usize {
        self.lines[row]
    }

    /// Whether the table has a column of that name.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The raw text of a column, by row. Errors name the file and the missing column.
    pub fn text_column(&self, name: &str) -> Result<Vec<&str>> {
        let col = self.column_index(name)?;
        Ok(self.rows.iter().map(|r| r[col].as_str()).collect())
    }

    /// A numeric column; empty fields read as NaN, anything else unparsable is an error naming
    /// the line.
    pub fn numeric_column(&self, name: &str) -> Result<Vec<f64>> {
        let col = self.column_index(name)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let field = row[col].trim();
                if field.is_empty() {
                    return Ok(f64::NAN);
                }
                field.parse::<f64>().map_err(|_| BenchError::Parse {
                    path: self.path.clone(),
                    line: self.lines[i],
                    message: format!("column `{name}`: expected a number, found `{field}`"),
                })
            })
            .collect()
    }

    fn column_index(&self, name: &str) -> Result<usize> {
        self.index
            .get(name)
            .copied()
            .ok_or_else(|| BenchError::MissingColumns {
                path: self.path.clone(),
                dataset: "-".into(),
                missing: vec![name.to_string()],
                available: self.header.join(", "),
            })
    }
}

/// The error of a failed read of `path` at `line` (when known).
fn io_error(path: &Path, line: Option<usize>) -> impl FnOnce(std::io::Error) -> BenchError {
    let path = path.to_path_buf();
    move |error| BenchError::Io { path, line, error }
}

/// Splits one CSV line, honouring double quotes (`""` inside quotes is a quote).
fn split_csv(line: &str) -> Vec<String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::split_csv;

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_csv("a,\"b,c\",\"d\"\"e\",\r"),
            vec!["a", "b,c", "d\"e", ""]
        );
    }
}
