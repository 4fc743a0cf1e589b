#!/bin/sh
# Regenerates tests/ecs/ecs_fields.json, the extract of the official ECS
# field definitions that the ECS output is checked against: for every field,
# its type, and for the categorization fields (event.kind, event.category,
# event.type, event.outcome) the values ECS allows.  The definitions come
# from the npm package @elastic/ecs (generated/ecs_flat), installed in a
# temporary folder.  Usage: sh tests/ecs/make-ecs-fields.sh [VERSION]
set -e
cd "$(dirname "$0")"
version=${1:-9.4.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm install --no-save --silent "@elastic/ecs@$version" >/dev/null)
node - "$tmp/node_modules/@elastic/ecs" "$version" >ecs_fields.json <<'JS'
const [dir, version] = process.argv.slice(2);
const flat = require(dir + "/generated/ecs_flat.js").EcsFlat;
const fields = {};
for (const name of Object.keys(flat).sort()) {
	const f = flat[name];
	const e = { type: f.type };
	if (f.allowed_values)
		e.allowed = f.allowed_values.map(v => v.name).sort();
	if (f.normalize && f.normalize.includes("array"))
		e.array = true;
	fields[name] = e;
}
process.stdout.write(JSON.stringify({
	package: "@elastic/ecs",
	package_version: version,
	fields: fields,
}, null, 0).replace(/\},"/g, '},\n"') + "\n");
JS
echo "wrote $(pwd)/ecs_fields.json from @elastic/ecs $version" >&2
