// Command volctl-benchtable reads one run of `go test -bench` (standard
// input, echoed as it is read), then prints the machine it ran on and
// issue 24's table of figures against their targets
// (internal/benchtable). It exits 1 when a target was missed or a figure
// is missing from the run, 2 when the input cannot be read.
//
//	go test -run '^$' -bench . ./daemon/... | volctl-benchtable
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/volctl/volctl/internal/benchtable"
)

func main() {
	var buf bytes.Buffer
	if _, err := io.Copy(io.MultiWriter(os.Stdout, &buf), os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "volctl-benchtable:", err)
		os.Exit(2)
	}
	res, err := benchtable.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "volctl-benchtable:", err)
		os.Exit(2)
	}
	fmt.Println()
	fmt.Println("== issue 24's figures, from this one run")
	fmt.Println(machine(buf.Bytes()))
	fmt.Println()
	missed := benchtable.Write(os.Stdout, benchtable.Issue24, res)
	targets := 0
	for _, r := range benchtable.Issue24 {
		if r.Max > 0 {
			targets++
		}
	}
	reported := len(benchtable.Issue24) - targets
	if missed > 0 {
		fmt.Printf("\n%d of %d figures (%d targets, %d reported) missed or not measured\n", missed, len(benchtable.Issue24), targets, reported)
		os.Exit(1)
	}
	fmt.Printf("\nall %d targets met (and %d figures reported)\n", targets, reported)
}

// machine says what the run ran on: the CPU (from go test's "cpu:" line
// or /proc/cpuinfo), the CPU count, the load average now, and the
// simulator's concurrency model when the benchmarks printed it.
func machine(out []byte) string {
	var cpu string
	models := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "sim-model: "); ok {
			models[strings.TrimSpace(v)] = true
		}
	}
	if cpu == "" {
		cpu = "unknown CPU"
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var ms []string
	for m := range models {
		ms = append(ms, m)
	}
	model := "not printed by the benchmarks"
	if len(ms) > 0 {
		model = strings.Join(ms, ", ")
	}
	return fmt.Sprintf("machine: %s, %d CPUs, %s/%s; load average at the end: %s; simulator concurrency model: %s",
		cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, load, model)
}
