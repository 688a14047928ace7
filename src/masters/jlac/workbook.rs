//! Opening a まとめ表 workbook within the limits and reading its sheets into [`Grid`]s.
//!
//! An `.xlsx` is a zip: its members are checked against the archive limits (count, declared
//! and actual sizes, compression ratio) before the workbook reader opens it. A sheet is read
//! cell by cell, not as the dense range its `<dimension>` (or its farthest cell) spans: a
//! cell past [`Limit::WorkbookRows`] / [`Limit::WorkbookColumns`], or a used range past
//! [`Limit::WorkbookCells`], refuses the sheet before anything is allocated for it, and
//! the grid holds each row only up to its last non-empty cell.

use std::io::Cursor;

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError};

use super::sheets::{column_letter, Cell, Grid};
use crate::excerpt::excerpt;
use crate::limits::{group_digits, Limit, Limits};
use crate::masters::archive::{self, Budget, Declared};
use crate::masters::input::shown_name;
use crate::masters::problem::{Problem, Problems};

/// The reader's errors can quote the file (sheet names, XML, cell values): shown escaped.
fn unreadable(file: &str, err: impl std::fmt::Display) -> Problems {
    Problem::file(
        file,
        "bad_workbook",
        format!(
            "not a readable .xlsx workbook: {}",
            shown_name(&err.to_string())
        ),
        "download the まとめ表 again from the JLACセンター; save it as .xlsx (Excel 2007+), not .xls",
    )
    .into()
}

/// Opens a workbook and reads every sheet, in workbook order.
pub fn read_workbook(file: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<Grid>, Problems> {
    check_container(file, bytes, limits)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(file, e))?;
    let names = book.sheet_names();
    if !limits.allows(Limit::WorkbookSheets, names.len() as u64) {
        return Err(Problem::over_limit(
            file,
            "workbook_too_large",
            format!(
                "the workbook has {} sheets",
                group_digits(names.len() as u64)
            ),
            limits,
            Limit::WorkbookSheets,
        )
        .into());
    }
    let mut grids = Vec::with_capacity(names.len());
    for name in names {
        grids.push(read_sheet(&mut book, file, &name, limits)?);
    }
    Ok(grids)
}

/// Checks the members of the workbook's zip container (all of them: the workbook's
/// relationships decide which the reader opens) before anything reads them.
fn check_container(file: &str, bytes: &[u8], limits: &Limits) -> Result<(), Problems> {
    // A workbook that is no zip at all is an unreadable workbook, with the workbook's fix;
    // a limit it breaks is reported as it is.
    let mut zip =
        archive::open(file, bytes, limits).map_err(|problems| match problems.items().first() {
            Some(p) if p.kind == "bad_zip" => unreadable(file, &p.message),
            _ => problems,
        })?;
    let mut members = Vec::with_capacity(zip.len());
    let mut reserved = Budget::default();
    for index in 0..zip.len() {
        let member = zip.by_index_raw(index).map_err(|e| unreadable(file, e))?;
        let shown = format!(
            "{file}:{}",
            shown_name(&String::from_utf8_lossy(member.name_raw()))
        );
        let declared = Declared::of(&member);
        archive::check_declared(&shown, declared, limits, &reserved)?;
        reserved = reserved.plus(declared.size);
        members.push((index, shown, declared));
    }
    archive::check_declared_together(file, members.iter().map(|m| m.2), limits)?;
    let mut budget = Budget::default();
    for (index, shown, _) in members {
        let mut member = zip.by_index(index).map_err(|e| unreadable(file, e))?;
        archive::measure_member(&shown, &mut member, limits, &mut budget)?;
    }
    Ok(())
}

/// The used range of a sheet as it is read: rows and columns (counts from A1).
#[derive(Default)]
struct Extent {
    rows: u64,
    columns: u64,
}

/// Reads one sheet cell by cell within the workbook limits.
fn read_sheet<R: std::io::Read + std::io::Seek>(
    book: &mut Xlsx<R>,
    file: &str,
    name: &str,
    limits: &Limits,
) -> Result<Grid, Problems> {
    let shown = format!("{file} [{}]", excerpt(name));
    let mut reader = match book.worksheet_cells_reader(name) {
        Ok(reader) => reader,
        // A chart sheet: no cells.
        Err(XlsxError::NotAWorksheet(_)) => {
            return Ok(Grid {
                name: excerpt(name),
                rows: Vec::new(),
            })
        }
        Err(e) => return Err(unreadable(&shown, e)),
    };
    let mut cells: Vec<(usize, usize, Cell)> = Vec::new();
    let mut extent = Extent::default();
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&shown, e))? {
        let text = cell_text(cell.get_value());
        if text.text.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        extent = grow(&shown, extent, row, col, limits)?;
        if !limits.allows(Limit::WorkbookCells, cells.len() as u64 + 1) {
            // Only a sheet that lists cells more than once gets here: its used range holds
            // fewer cells than it lists.
            return Err(Problem::over_limit(
                &shown,
                "workbook_too_large",
                format!(
                    "the sheet lists more than {} cells",
                    group_digits(cells.len() as u64)
                ),
                limits,
                Limit::WorkbookCells,
            )
            .in_field(row as u64 + 1, col + 1, &column_letter(col))
            .into());
        }
        cells.push((row, col, text));
    }
    // The extent is within the limits: the rows can be allocated.
    let mut rows: Vec<Vec<Cell>> = vec![Vec::new(); extent.rows as usize];
    for (row, col, cell) in cells {
        let cells = &mut rows[row];
        if cells.len() <= col {
            cells.resize(col + 1, Cell::default());
        }
        cells[col] = cell;
    }
    Ok(Grid {
        name: excerpt(name),
        rows,
    })
}

/// The used range once the non-empty cell at (`row`, `col`) is in it, or the limit it
/// breaks (located at the cell).
fn grow(
    shown: &str,
    extent: Extent,
    row: usize,
    col: usize,
    limits: &Limits,
) -> Result<Extent, Problems> {
    let rows = extent.rows.max(row as u64 + 1);
    let columns = extent.columns.max(col as u64 + 1);
    let too_large = |found: String, limit: Limit| -> Problems {
        let at = format!("{}{}", column_letter(col), row + 1);
        Problem::over_limit(
            shown,
            "workbook_too_large",
            format!("cell {at} makes the sheet's used range {found}"),
            limits,
            limit,
        )
        .in_field(row as u64 + 1, col + 1, &column_letter(col))
        .into()
    };
    if !limits.allows(Limit::WorkbookRows, rows) {
        return Err(too_large(
            format!("{} rows long", group_digits(rows)),
            Limit::WorkbookRows,
        ));
    }
    if !limits.allows(Limit::WorkbookColumns, columns) {
        return Err(too_large(
            format!("{} columns wide", group_digits(columns)),
            Limit::WorkbookColumns,
        ));
    }
    let cells = rows.saturating_mul(columns);
    if !limits.allows(Limit::WorkbookCells, cells) {
        return Err(too_large(
            format!(
                "{} rows × {} columns = {} cells",
                group_digits(rows),
                group_digits(columns),
                group_digits(cells)
            ),
            Limit::WorkbookCells,
        ));
    }
    Ok(Extent { rows, columns })
}

fn cell_text(data: &DataRef<'_>) -> Cell {
    match data {
        DataRef::Empty => Cell::default(),
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Int(i) => Cell {
            text: i.to_string(),
            numeric: true,
        },
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Cell {
            text: format!("{}", *f as i64),
            numeric: true,
        },
        other => {
            let data = Data::from(other.clone());
            Cell {
                text: data.to_string(),
                numeric: matches!(data, Data::Float(_)),
            }
        }
    }
}

fn text_cell(s: &str) -> Cell {
    Cell {
        text: s.trim_matches(|c: char| c.is_ascii_whitespace()).to_owned(),
        numeric: false,
    }
}
