package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"banyan/internal/auth"
	"banyan/internal/center"
)

// centerFlags binds a center's configuration to flags.
func centerFlags(fs *flag.FlagSet, c *center.Config) {
	fs.StringVar(&c.HubURL, "hub", c.HubURL, "the hub's URL")
	fs.StringVar(&c.Token, "token", c.Token, "the center's sync token (from 'banyan admin center add'); BANYAN_TOKEN_FILE reads it from a file")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "the center's data directory (its own SQLite database)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "where the worker API listens on the center's LAN, host:port")
	fs.DurationVar(&c.SyncInterval, "sync-interval", c.SyncInterval, "how often to sync while the link is up")
	fs.DurationVar(&c.Horizon, "horizon", c.Horizon, "work to keep leased per active worker, by their own pace, to work through outages")
	fs.IntVar(&c.Ahead, "ahead", c.Ahead, "most tasks to keep leased per active worker")
	fs.Int64Var(&c.CacheMB, "cache-mb", c.CacheMB, "MiB of task attachments (scans, recordings) to keep on disk; files of finished tasks go first")
	fs.DurationVar(&c.Hold, "hold", c.Hold, "how long a worker holds one task before it goes back to the center's pool")
	fs.StringVar(&c.KeyFile, "db-key-file", c.KeyFile, "encrypt the center's database at rest with the key in this file (64 hex digits, from 'banyan center keygen'), kept off the database's disk: a USB stick or a tmpfs; - reads it from standard input")
}

const centerAbout = `Runs a village center: its own SQLite database, the worker API on the
center's LAN, and the uplink to the hub. Workers keep working while the uplink
is down; what they save goes up, exactly once, when it is back. The first
start needs the hub, to learn who the center is; later starts work offline.

  banyan center --hub URL --token T --data DIR      run the center
  banyan center worker add NAME --data DIR ...      enrol a worker and print their desk token
  banyan center user add NAME --role R --data DIR   add a reviewer or center_manager (or worker)
  banyan center keygen                              print a new database key for --db-key-file
  banyan center encrypt --data DIR --db-key-file F  encrypt a center set up without a key (stop it first)`

func centerCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) >= 2 && args[0] == "worker" && args[1] == "add" {
		return centerUserAdd(ctx, args[2:], true, out, errOut)
	}
	if len(args) >= 2 && args[0] == "user" && args[1] == "add" {
		return centerUserAdd(ctx, args[2:], false, out, errOut)
	}
	if len(args) >= 1 && args[0] == "encrypt" {
		return centerEncrypt(ctx, args[1:], out, errOut)
	}
	if len(args) >= 1 && args[0] == "keygen" {
		if len(args) > 1 {
			return &usageError{"usage: banyan center keygen > FILE (the file off the database's disk)"}
		}
		key, err := center.NewKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(out, key)
		return nil
	}
	cfg := center.DefaultConfig()
	cfg.Version = Version
	fs := newFlags("center", "center --hub URL --token T [--data DIR] [flags]", centerAbout, errOut)
	centerFlags(fs, &cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	log := logger(errOut, slog.LevelInfo)
	c, err := center.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("center: listen on %s: %w", cfg.Addr, err)
	}
	log.Info("center serving workers", "url", "http://"+ln.Addr().String(), "center", c.ID, "hub", cfg.HubURL, "version", Version)
	return c.Serve(ctx, ln)
}

// centerUserAdd adds a person at the center: a worker (enrolled at the
// hub through the outbox), a reviewer or a center manager.
func centerUserAdd(ctx context.Context, args []string, workerOnly bool, out, errOut io.Writer) error {
	verb, about := "center user add", "Adds a person at the center (--role worker, reviewer or center_manager) and prints the token for their desk, once."
	if workerOnly {
		verb, about = "center worker add", "Enrols a worker at the center and prints the token for their desk, once."
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(errOut, "Usage: banyan %s NAME --hub URL --token T --data DIR\n\n%s\n", verb, about)
			return nil
		}
		return &usageError{"usage: banyan " + verb + " NAME --data DIR --hub URL --token T"}
	}
	name := strings.TrimSpace(args[0])
	cfg := center.DefaultConfig()
	fs := newFlags(verb, verb+" NAME [flags]", about, errOut)
	centerFlags(fs, &cfg)
	role := string(auth.Worker)
	var loginFlag string
	fs.StringVar(&loginFlag, "login", "", "the person's web sign-in login (default: made from NAME)")
	if !workerOnly {
		fs.StringVar(&role, "role", role, "worker, reviewer or center_manager")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := center.Open(ctx, cfg, logger(errOut, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer c.Close()
	u, token, err := c.AddPerson(ctx, name, auth.Role(role))
	if err != nil {
		return err
	}
	if u.Role == string(auth.Worker) {
		login, pin, err := c.Auth.IssuePIN(ctx, u, loginFlag)
		if err != nil {
			return fmt.Errorf("worker %q enrolled (id %s), but no web sign-in: %w", u.Name, u.ID, err)
		}
		fmt.Fprintf(errOut, "Worker %q enrolled (id %s); the hub hears of it at the next sync.\n", u.Name, u.ID)
		fmt.Fprintf(errOut, "Web desk sign-in: login %s, PIN %s (shown once; give it to the worker in person).\n", login, pin)
		fmt.Fprintf(errOut, "Their API token for desk apps, shown once:\n")
	} else {
		login, password, err := c.Auth.IssuePassword(ctx, u, loginFlag)
		if err != nil {
			return fmt.Errorf("%s %q added (id %s), but no web sign-in: %w", u.Role, u.Name, u.ID, err)
		}
		fmt.Fprintf(errOut, "%s %q added (id %s).\n", u.Role, u.Name, u.ID)
		fmt.Fprintf(errOut, "Web sign-in: login %s, password %s (shown once).\n", login, password)
		fmt.Fprintf(errOut, "Their API token, shown once:\n")
	}
	fmt.Fprintln(out, token)
	return nil
}

// centerEncrypt encrypts a stopped center's plain database and attachments.
func centerEncrypt(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := center.DefaultConfig()
	fs := newFlags("center encrypt", "center encrypt --data DIR --db-key-file FILE",
		"Encrypts a village center's database and cached attachments, made without a key, under the key in --db-key-file (from 'banyan center keygen'). Stop the center first; start it afterwards with the same --db-key-file.", errOut)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "the center's data directory")
	fs.StringVar(&cfg.KeyFile, "db-key-file", cfg.KeyFile, "the key: a file off the database's disk, or - for standard input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.KeyFile == "" {
		return &usageError{"center encrypt needs --db-key-file"}
	}
	key, err := center.LoadKey(cfg, os.Stdin)
	if err != nil {
		return err
	}
	if err := center.Encrypt(ctx, cfg.DataDir, key); err != nil {
		return err
	}
	fmt.Fprintf(out, "encrypted %s; start the center with --db-key-file\n", cfg.DataDir)
	return nil
}
