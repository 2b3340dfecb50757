//! Embeds the templates in `templates/` into the binary, so `cli serve` needs no files.

fn main() {
    minijinja_embed::embed_templates!("templates");
}
