# Shared by the bench scripts: replace one section of BENCHMARKS.md, kept between
# `<!-- NAME:begin -->` and `<!-- NAME:end -->`, with the content of a file.
#   replace_section NAME FILE
replace_section() {
  local name=$1 file=$2 out
  out=$(mktemp)
  [ -f BENCHMARKS.md ] || printf '# Benchmarks\n' > BENCHMARKS.md
  if grep -q "<!-- $name:begin -->" BENCHMARKS.md; then
    awk -v name="$name" -v file="$file" '
      $0 == "<!-- " name ":begin -->" { print; while ((getline line < file) > 0) print line; skip = 1; next }
      $0 == "<!-- " name ":end -->" { skip = 0 }
      !skip { print }
    ' BENCHMARKS.md > "$out"
  else
    { cat BENCHMARKS.md; printf '\n<!-- %s:begin -->\n' "$name"; cat "$file"; printf '<!-- %s:end -->\n' "$name"; } > "$out"
  fi
  mv "$out" BENCHMARKS.md
}
