// Package web holds the operator console's templates and static files, embedded into the binary.
// dist/ is the front-end bundle `make assets` builds from npm packages with esbuild (gitignored;
// an empty dist still builds, and the console then works without its charts).
package web

import "embed"

// FS holds templates/, static/ and dist/.
//
//go:embed templates static all:dist
var FS embed.FS
