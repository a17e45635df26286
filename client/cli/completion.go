package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"
)

// bashCompletion makes `volctl completion bash` work in a plain bash.
// cobra's script (GenBashCompletionV2) splits the command line with
// bash-completion's _get_comp_words_by_ref when that package's
// _init_completion is not loaded, so without the package every TAB printed
// "_get_comp_words_by_ref: command not found". The script is cobra's with
// its word splitter replaced (plainBashInit).
func bashCompletion(root *cobra.Command) {
	comp, _, err := root.Find([]string{"completion", "bash"})
	if err != nil || comp.Name() != "bash" {
		return
	}
	comp.Long = fmt.Sprintf(`Write the completion script for bash. It works in a plain bash, and uses the
bash-completion package's helpers when they are loaded.

To load completions in your current shell session:

	source <(%[1]s completion bash)

To load completions for every new session, write it once where your bash
reads completions (with bash-completion, /etc/bash_completion.d/%[1]s), or
add the line above to ~/.bashrc.
`, root.Name())
	comp.RunE = func(cmd *cobra.Command, _ []string) error {
		noDesc, _ := cmd.Flags().GetBool("no-descriptions")
		var buf bytes.Buffer
		if err := cmd.Root().GenBashCompletionV2(&buf, !noDesc); err != nil {
			return err
		}
		buf.WriteString(plainBashInit(cmd.Root().Name()))
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
}

// plainBashInit redefines the script's __NAME_init_completion (defined
// before it, so this one wins): bash-completion's _get_comp_words_by_ref
// where it is loaded, else the command line up to the cursor split at
// blanks. Like _get_comp_words_by_ref -n =: it keeps '=' and ':' inside a
// word (the script strips them from the replies itself); volctl's
// arguments (POOL/VOL@SNAP, ids, zone names, paths) hold no quotes or
// blanks to interpret.
func plainBashInit(name string) string {
	return fmt.Sprintf(`
# %[1]s: without the bash-completion package, split the words here.
__%[1]s_init_completion()
{
    COMPREPLY=()
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref "$@" cur prev words cword
        return
    fi
    local line=${COMP_LINE:0:COMP_POINT}
    read -r -a words <<< "$line"
    if [[ -z $line || $line == *[[:blank:]] ]]; then
        words+=("")
    fi
    cword=$(( ${#words[@]} - 1 ))
    cur=${words[cword]}
    prev=
    if (( cword > 0 )); then
        prev=${words[cword-1]}
    fi
    return 0
}
`, name)
}
