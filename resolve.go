package llmgateway

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// envPlaceholder matches the `{env.NAME}` placeholders of a setting.
var envPlaceholder = regexp.MustCompile(`\{env\.([^{}]+)\}`)

// resolve replaces the placeholders of a setting (`{env.X}`, `{file.path}`)
// at start-up, as secrets and URLs are written. A setting that resolves to
// nothing is an error naming the environment variables that were empty:
// almost always one that was not exported to Caddy's environment.
func resolve(setting string) (string, error) {
	value := caddy.NewReplacer().ReplaceAll(setting, "")
	if value != "" || setting == "" {
		return value, nil
	}
	var why []string
	for _, m := range envPlaceholder.FindAllStringSubmatch(setting, -1) {
		switch v, set := os.LookupEnv(m[1]); {
		case !set:
			why = append(why, "environment variable "+m[1]+" is not set")
		case v == "":
			why = append(why, "environment variable "+m[1]+" is empty")
		}
	}
	if len(why) == 0 {
		return "", fmt.Errorf("%s resolved to an empty value", setting)
	}
	return "", fmt.Errorf("%s resolved to an empty value: %s", setting, strings.Join(why, "; "))
}
