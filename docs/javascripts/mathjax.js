// MathJax 3 configuration for pymdownx.arithmatex (generic mode): typeset only the
// \( ... \) and \[ ... \] spans that arithmatex emits, nothing else on the page.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
