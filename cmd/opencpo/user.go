package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

const userUsage = `Usage: opencpo user add EMAIL --role admin|operator|readonly [--db PATH_OR_URL]

Creates a console user in the database that --db / OPENCPO_DB names. The password is read from
standard input (one line), e.g.  printf '%s\n' "$PASSWORD" | opencpo user add ops@example.com --role admin
`

// runUser is `opencpo user add`: the way to create the first console admin (later ones can be
// added on the console's users page).
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		_, _ = io.WriteString(stderr, userUsage)
		return errUsage
	}
	args = args[1:]
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		_, _ = io.WriteString(stderr, userUsage)
		return errUsage
	}
	rawEmail := args[0]
	var role string
	cfg, err := parseFlags("user add", args[1:], getenv, stderr, defaultsOfServe(), func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "the user's role: admin, operator or readonly")
	})
	if err != nil {
		return err
	}
	email, err := domain.NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	if !domain.Role(role).Valid() {
		return fmt.Errorf("--role must be admin, operator or readonly (got %q)", role)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if err := domain.CheckPassword(password); err != nil {
		return err
	}
	hash, err := credential.Hash(password, credential.UserParams())
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, nil, cfg.NoMigrate)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	if err := store.CreateUser(ctx, domain.User{Email: email, PasswordHash: hash, Role: domain.Role(role)}); err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return errors.New(de.Message)
		}
		return err
	}
	fmt.Fprintf(stdout, "user %s (%s) created in %s\n", email, role, dbName(cfg.DB))
	return nil
}

// readPassword reads the first line of stdin, without its line ending.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("the password is read from standard input, which is closed")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in, one line)")
	}
	return line, nil
}
