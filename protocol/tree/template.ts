/**
 * The placeholders of package.toml `file` and `mirrors` (package.toml(5), DESIGN section 1) and
 * the version forms StageX derives from a version (its build args VERSION_* too). Pure.
 */

/** The derived forms of one version, named as their placeholders. */
export interface VersionForms {
  version: string;
  /** Up to the first dot: 1.2.3 -> 1. */
  version_major: string;
  /** Up to the second dot: 1.2.3 -> 1.2; a version without a dot is kept whole. */
  version_major_minor: string;
  /** Dots to dashes: 1.2.3 -> 1-2-3. */
  version_dash: string;
  /** Dots to underscores: 1.2.3 -> 1_2_3. */
  version_under: string;
  /**
   * Without the part after the last dash, as StageX's `rsplit("-", 1)[0]`:
   * 1.2.3-rc.1 -> 1.2.3, 6.04-pre1 -> 6.04, 3.0.11-1 -> 3.0.11; without a dash, unchanged.
   */
  version_strip_suffix: string;
}

export function versionForms(version: string): VersionForms {
  const dots = version.split('.');
  const dash = version.lastIndexOf('-');
  return {
    version,
    version_major: dots[0]!,
    version_major_minor: dots.length >= 2 ? `${dots[0]}.${dots[1]}` : version,
    version_dash: version.replaceAll('.', '-'),
    version_under: version.replaceAll('.', '_'),
    version_strip_suffix: dash === -1 ? version : version.slice(0, dash),
  };
}

export const VERSION_PLACEHOLDERS: readonly (keyof VersionForms)[] = [
  'version', 'version_major', 'version_major_minor', 'version_dash', 'version_under', 'version_strip_suffix',
];

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces every `{name}` with `values[name]`. A placeholder without a value is not guessed:
 * the result names the first one (StageX's str.format raises on one too).
 */
export function expandTemplate(template: string, values: Readonly<Record<string, string | undefined>>): { text: string } | { missing: string } {
  let missing: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) missing ??= name;
    return value ?? whole;
  });
  return missing === undefined ? { text } : { missing };
}
