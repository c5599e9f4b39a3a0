// compose-check validates docker-compose.yml with compose-go, the loader `docker compose`
// itself uses: the Compose Specification schema, interpolation (${VAR:?err} fails when VAR
// is unset or empty), YAML anchors and merges, and cross-references (depends_on, volumes).
// It needs no Docker engine. Used by tests/deploy when the docker compose plugin is missing.
//
// Usage: compose-check [-env-file FILE] COMPOSE_FILE
// Prints the resolved project as YAML (like `docker compose config`); exit 1 on any error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env-file", "", "environment file (like docker compose --env-file)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-env-file FILE] COMPOSE_FILE")
		os.Exit(2)
	}
	file, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(filepath.Dir(file))}
	if *envFile != "" {
		fns = append(fns, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	}
	opts, err := cli.NewProjectOptions([]string{file}, fns...)
	if err != nil {
		fail(err)
	}
	project, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compose-check:", err)
	os.Exit(1)
}
