pub fn screenshots() -> Result<(), String> {
    Err("not yet".into())
}
