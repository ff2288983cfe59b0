package config

import (
	"errors"
	"fmt"
)

// VarError is a variable whose value vpc-cni does not accept. FromEnv and
// FromEnviron return every one they find, joined; errors.As finds the first.
type VarError struct {
	Name  string // the variable
	Value string // its value, as given
	// Problem says what is wrong when "want" alone does not (a reserved tag
	// key, an unknown variable); may be empty.
	Problem string
	Want    string // what the variable accepts
}

func (e *VarError) Error() string {
	if e.Problem == "" {
		return fmt.Sprintf("%s=%q: want %s", e.Name, e.Value, e.Want)
	}
	return fmt.Sprintf("%s=%q: %s; want %s", e.Name, e.Value, e.Problem, e.Want)
}

// invalid is what a value parser returns: the problem, if any beyond not
// being what is wanted, and what is wanted.
type invalid struct{ problem, want string }

func (e *invalid) Error() string {
	if e.problem == "" {
		return "want " + e.want
	}
	return e.problem + "; want " + e.want
}

func want(w string) error { return &invalid{want: w} }

func problem(p, w string) error { return &invalid{problem: p, want: w} }

// parser holds a parse in progress.
type parser struct {
	c      Config
	given  map[string]string // variables set to a non-empty value
	failed map[string]bool   // variables whose value was refused
	errs   []error

	disableMetrics       bool
	disableIntrospection bool
}

// fail records that name=value is not accepted. A value parser may report
// several problems at once (errors.Join of *invalid).
func (p *parser) fail(name, value string, err error) {
	p.failed[name] = true
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.Unwrap() {
			p.fail(name, value, e)
		}
		return
	}
	ve := &VarError{Name: name, Value: value, Want: err.Error()}
	var iv *invalid
	if errors.As(err, &iv) {
		ve.Problem, ve.Want = iv.problem, iv.want
	}
	p.errs = append(p.errs, ve)
}
