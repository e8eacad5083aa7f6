export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` is at least `minimum` (admin > operator > viewer). */
export function roleAllows(role: Role, minimum: Role): boolean {
  return rank[role] >= rank[minimum];
}
