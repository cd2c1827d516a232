//! Print the OpenAPI document (for validators and diffing).
#![allow(clippy::print_stdout)]
fn main() {
    println!("{}", serde_json::to_string_pretty(&funkplan_api::openapi::document()).unwrap_or_default());
}
