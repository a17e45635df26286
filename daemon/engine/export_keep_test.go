package engine

// KeptSuffixForTest is keptSuffix, for the external test that compares it
// with zvol.KeptSuffix.
var KeptSuffixForTest = keptSuffix
