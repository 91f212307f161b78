/**
 * Names compare ignoring case and surrounding spaces. NFKC folds look-alike compatibility forms
 * (full-width letters, ligatures) so "Ａcme" and "acme" cannot both exist.
 */
export function organizationNameKey(name: string): string {
  return name.trim().normalize('NFKC').toLowerCase()
}
