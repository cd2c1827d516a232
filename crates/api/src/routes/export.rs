//! Downloads people pass on (issue 18 item 6): the figures per
//! municipality, district, Regierungsbezirk and the state as CSV (for any
//! spreadsheet; `locale=de` for German Excel) and XLSX.
//!
//! The rows are the catalog's collections (the properties the OGC API
//! serves, without geometry), so an export and the map read the same
//! definition; each file carries the data's source, its date and the
//! attribution (a column in CSV, a sheet "Quelle" in XLSX).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::extract::State;
use chrono::Utc;
use funkplan_db::Error as DbError;
use serde_json::{Map, Value};

use crate::catalog::{self, Collection};
use crate::http::{ApiPath, QueryPairs};
use crate::{ApiError, ApiResult, AppState};

/// The collections that can be exported, with their sheet names.
const LEVELS: [(&str, &str); 4] =
    [("municipalities", "Gemeinden"), ("districts", "Kreise"), ("regions", "Regierungsbezirke"), ("state", "Land")];

/// The file format asked for by the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

/// Separator and decimal mark of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    /// `,` between fields, `.` in numbers: what most programs read.
    Plain,
    /// `;` between fields, `,` in numbers: what Excel set to German opens
    /// with a double click.
    German,
}

/// The exported table: column names in the catalog's order and one row of
/// values per feature.
struct Table {
    columns: Vec<String>,
    rows: Vec<Map<String, Value>>,
}

/// The figures of one level as CSV or XLSX: `/api/v1/export/{level}.{csv|xlsx}`;
/// the whole dataset as GeoPackage: `/api/v1/export/funkplan.gpkg`.
#[utoipa::path(get, path = "/api/v1/export/{file}", tag = "coverage",
    params(
        ("file" = String, Path, description = "`municipalities`, `districts`, `regions` or `state`, then `.csv` or `.xlsx`; or `funkplan.gpkg`: every collection with geometry (EPSG:25832) as one GeoPackage", example = "municipalities.csv"),
        ("locale" = Option<String>, Query, description = "CSV only: `de` for `;` between fields and a decimal comma (German Excel); default `,` and `.`"),
    ),
    responses(
        (status = 200, description = "The file (UTF-8 with BOM for CSV)", content_type = "text/csv"),
        (status = 400, description = "Unknown parameter or locale", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown level or format", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn download(State(state): State<AppState>, ApiPath(file): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["locale"], |_| false)?;
    let (bytes, content_type, name) = export(state.db(), &file, q.get("locale")).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// The export named `file` (as in `/api/v1/export/{file}`) with CSV
/// `locale` (`de`, `en` or none): its bytes, content type and a file name
/// for saving it. Also what `funkplan export` writes.
///
/// # Errors
/// [`ApiError::NotFound`] for an unknown file, [`ApiError::BadRequest`]
/// for an unknown locale, database errors.
pub async fn export(db: &funkplan_db::Db, file: &str, locale: Option<&str>) -> ApiResult<(Vec<u8>, &'static str, String)> {
    let today = Utc::now().date_naive();
    let known = || {
        LEVELS.iter().flat_map(|(l, _)| [format!("{l}.csv"), format!("{l}.xlsx")]).chain([GPKG.to_owned()]).collect::<Vec<_>>().join(", ")
    };
    let not_found = || ApiError::NotFound(format!("no export {file:?}; exports: {}", known()));
    if file == GPKG {
        if let Some(l) = locale {
            return Err(ApiError::BadRequest(format!("locale: `{l}` applies to CSV only")));
        }
        let conn = db.conn().await?;
        let bytes = geopackage(&conn).await?;
        return Ok((bytes, "application/geopackage+sqlite3", format!("funkplan-{today}.gpkg")));
    }
    let (level, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    let format = match ext {
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        _ => return Err(not_found()),
    };
    let &(id, sheet) = LEVELS.iter().find(|(l, _)| *l == level).ok_or_else(not_found)?;
    let dialect = match (format, locale) {
        (_, None | Some("en")) => Dialect::Plain,
        (Format::Csv, Some("de")) => Dialect::German,
        (Format::Xlsx, Some("de")) => Dialect::Plain, // XLSX stores numbers, not text: nothing to choose
        (_, Some(other)) => return Err(ApiError::BadRequest(format!("locale: `{other}` is not one of de, en"))),
    };
    let collection = catalog::get(id)?;
    let conn = db.conn().await?;
    let table = read(&conn, collection).await?;
    let attribution = super::ogc::collections::attribution(&conn).await?;
    let name = format!("funkplan-{id}-{today}.{ext}");
    Ok(match format {
        Format::Csv => (csv(&table, dialect, attribution)?, "text/csv; charset=utf-8", name),
        Format::Xlsx => (xlsx(&table, sheet, collection, attribution)?, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name),
    })
}

/// The name of the whole dataset's GeoPackage export.
const GPKG: &str = "funkplan.gpkg";

/// Every collection of the catalog as a layer of one GeoPackage, in the
/// storage CRS (EPSG:25832, full geometries), properties as the OGC API
/// serves them, plus a table-less description naming the sources.
async fn geopackage(conn: &funkplan_db::Conn) -> ApiResult<Vec<u8>> {
    let what = "reading the dataset for the GeoPackage";
    let srs = conn
        .query_one("SELECT srtext FROM spatial_ref_sys WHERE srid = 25832", &[])
        .await
        .and_then(|r| r.try_get::<_, String>("srtext"))
        .map_err(DbError::pg(what))?;
    let attribution = super::ogc::collections::attribution(conn).await?;
    let mut layers = Vec::new();
    for c in catalog::all() {
        // The property keys in the catalog's order from the first row
        // (PostgreSQL's `json` keeps it; serde_json's map would sort them).
        let sql = format!(
            "SELECT ({props})::text AS p, \
               CASE WHEN row_number() OVER (ORDER BY {id}) = 1 THEN (SELECT array_agg(key) FROM json_object_keys({props}) AS key) END AS keys, \
               ST_AsBinary(gg.g, 'NDR') AS wkb, ST_XMin(gg.g) AS xmin, ST_XMax(gg.g) AS xmax, ST_YMin(gg.g) AS ymin, ST_YMax(gg.g) AS ymax, \
               upper(GeometryType(gg.g)) AS kind \
             FROM {from} CROSS JOIN LATERAL (SELECT CASE WHEN ST_IsEmpty({geom}) THEN NULL ELSE {geom} END AS g) gg \
             ORDER BY {id}",
            props = c.props,
            geom = c.geometry(true),
            id = c.id_expr,
            from = c.from
        );
        let rows = conn.query(&sql, &[]).await.map_err(DbError::pg(what))?;
        let mut columns = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        let mut features = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(keys) = r.try_get::<_, Option<Vec<String>>>("keys").map_err(DbError::pg(what))? {
                columns = keys;
            }
            let text: String = r.try_get("p").map_err(DbError::pg(what))?;
            let Ok(Value::Object(properties)) = serde_json::from_str::<Value>(&text) else {
                return Err(ApiError::Internal(format!("{what}: a row is not a JSON object")));
            };
            let wkb: Option<Vec<u8>> = r.try_get("wkb").map_err(DbError::pg(what))?;
            let geometry = match wkb {
                Some(wkb) => {
                    let e = |k: &str| r.try_get::<_, f64>(k).map_err(DbError::pg(what));
                    kinds.insert(r.try_get::<_, String>("kind").map_err(DbError::pg(what))?);
                    Some((wkb, [e("xmin")?, e("xmax")?, e("ymin")?, e("ymax")?]))
                }
                None => None,
            };
            features.push(crate::gpkg::Feature { geometry, properties });
        }
        let geometry_type = match kinds.len() {
            1 => kinds.into_iter().next().unwrap_or_else(|| "GEOMETRY".into()),
            _ => "GEOMETRY".into(),
        };
        layers.push(crate::gpkg::Layer {
            name: c.id.replace('-', "_"),
            title: c.title.to_owned(),
            description: format!("{} Quellen: {attribution}", c.description),
            geometry_type,
            srs_id: 25832,
            columns,
            features,
        });
    }
    let srs = [crate::gpkg::Srs { id: 25832, name: "ETRS89 / UTM zone 32N".into(), organization: "EPSG", definition: srs }];
    tokio::task::spawn_blocking(move || crate::gpkg::write(&srs, &layers))
        .await
        .map_err(|e| ApiError::Internal(format!("writing the GeoPackage: {e}")))?
        .map_err(|e| ApiError::Internal(format!("writing the GeoPackage: {e}")))
}

/// The collection's features' properties, in id order, with the column
/// order of the catalog's `json_build_object` (asked of PostgreSQL, whose
/// `json` keeps it; serde_json's map would sort the keys).
async fn read(conn: &funkplan_db::Conn, c: &Collection) -> ApiResult<Table> {
    let what = "reading the figures to export";
    let sql = format!(
        "SELECT p::text AS p, CASE WHEN n = 1 THEN (SELECT array_agg(key) FROM json_object_keys(p) AS key) END AS keys \
         FROM (SELECT {props} AS p, row_number() OVER (ORDER BY {id}) AS n FROM {from}) x ORDER BY n",
        props = c.props,
        id = c.id_expr,
        from = c.from
    );
    let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg(what))?;
    let rows = conn.query(&stmt, &[]).await.map_err(DbError::pg(what))?;
    let mut columns = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(keys) = r.try_get::<_, Option<Vec<String>>>("keys").map_err(DbError::pg(what))? {
            columns = keys;
        }
        let text: String = r.try_get("p").map_err(DbError::pg(what))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => out.push(m),
            _ => return Err(ApiError::Internal(format!("{what}: a row is not a JSON object"))),
        }
    }
    Ok(Table { columns, rows: out })
}

/// A number as text: integers without a decimal mark, others with up to 6
/// decimals as the API rounds them; the decimal mark per dialect.
fn number(v: &serde_json::Number, dialect: Dialect) -> String {
    let s = v.to_string();
    match dialect {
        Dialect::Plain => s,
        Dialect::German => s.replace('.', ","),
    }
}

/// CSV, UTF-8 with a byte-order mark (so that Excel reads the umlauts),
/// header row, then one row per feature; the last column names the data's
/// origin on every row, so no copy of a row loses it.
fn csv(t: &Table, dialect: Dialect, attribution: &str) -> ApiResult<Vec<u8>> {
    let sep = if dialect == Dialect::German { b';' } else { b',' };
    let mut w = csv::WriterBuilder::new().delimiter(sep).from_writer(Vec::from("\u{feff}".as_bytes()));
    let fail = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    w.write_record(t.columns.iter().map(String::as_str).chain(["attribution"])).map_err(fail)?;
    for row in &t.rows {
        let cells = t.columns.iter().map(|c| match row.get(c) {
            None | Some(Value::Null) => String::new(),
            Some(Value::Number(n)) => number(n, dialect),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => other.to_string(),
        });
        w.write_record(cells.chain([attribution.to_owned()])).map_err(fail)?;
    }
    w.into_inner().map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

/// XLSX: the figures as typed cells (numbers as numbers, shares formatted as
/// percent), header frozen with a filter, and a sheet "Quelle" with the
/// collection, the data's date and source, and the attribution.
fn xlsx(t: &Table, sheet: &str, c: &Collection, attribution: &str) -> ApiResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(format!("writing XLSX: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("#,##0.00");
    let ws = book.add_worksheet().set_name(sheet).map_err(fail)?;
    for (j, col) in t.columns.iter().enumerate() {
        let j = u16::try_from(j).map_err(|_| ApiError::Internal("too many columns".into()))?;
        ws.write_string_with_format(0, j, col, &bold).map_err(fail)?;
        ws.set_column_width(j, (col.len() + 2).clamp(8, 28) as f64).map_err(fail)?;
    }
    for (i, row) in t.rows.iter().enumerate() {
        let i = u32::try_from(i + 1).map_err(|_| ApiError::Internal("too many rows".into()))?;
        for (j, col) in t.columns.iter().enumerate() {
            let j = u16::try_from(j).map_err(|_| ApiError::Internal("too many columns".into()))?;
            match row.get(col) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) => {
                    let v = n.as_f64().unwrap_or(f64::NAN);
                    if col.contains("share") {
                        ws.write_number_with_format(i, j, v, &percent).map_err(fail)?;
                    } else if col.ends_with("km2") {
                        ws.write_number_with_format(i, j, v, &decimal).map_err(fail)?;
                    } else {
                        ws.write_number(i, j, v).map_err(fail)?;
                    }
                }
                Some(Value::Bool(b)) => {
                    ws.write_boolean(i, j, *b).map_err(fail)?;
                }
                Some(Value::String(s)) => {
                    ws.write_string(i, j, s).map_err(fail)?;
                }
                Some(other) => {
                    ws.write_string(i, j, other.to_string()).map_err(fail)?;
                }
            }
        }
    }
    let last_col = u16::try_from(t.columns.len().saturating_sub(1)).unwrap_or(0);
    let last_row = u32::try_from(t.rows.len()).unwrap_or(u32::MAX);
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    if !t.columns.is_empty() {
        ws.autofilter(0, 0, last_row, last_col).map_err(fail)?;
    }
    let first = |key: &str| t.rows.iter().find_map(|r| r.get(key).and_then(Value::as_str)).unwrap_or("–").to_owned();
    let latest = t.rows.iter().filter_map(|r| r.get("computed_at").and_then(Value::as_str)).max().unwrap_or("–").to_owned();
    let synthetic = t.rows.iter().any(|r| r.get("synthetic").and_then(Value::as_bool) == Some(true));
    let src = book.add_worksheet().set_name("Quelle").map_err(fail)?;
    let lines: [(&str, String); 7] = [
        ("Inhalt", c.title.to_owned()),
        ("Beschreibung", c.description.to_owned()),
        ("Stand der Berechnung", latest),
        ("Versorgung berechnet aus", first("source")),
        ("Synthetische Daten", if synthetic { "ja (Demodaten)".into() } else { "nein".into() }),
        ("Quellen und Lizenz", attribution.to_owned()),
        ("Erzeugt", Utc::now().to_rfc3339()),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        src.write_string_with_format(i, 0, *k, &bold).map_err(fail)?;
        src.write_string(i, 1, v).map_err(fail)?;
    }
    src.set_column_width(0, 26).map_err(fail)?;
    src.set_column_width(1, 120).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}
