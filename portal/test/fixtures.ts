/**
 * The system budget as llmmeter:quotas answers it (a quota row with no
 * user), limit and use in nano-USD, for the tests of the pages that show it.
 */
export const systemBudget = (limitNanoUsd: number, usedNanoUsd: number) => ({
  id: "q_1",
  userId: null,
  quotaType: "system_monthly_cost_usd",
  limit: limitNanoUsd / 1e9,
  used: usedNanoUsd / 1e9,
  limitNanoUsd,
  usedNanoUsd,
  resetDate: Date.UTC(2030, 0, 1),
  isActive: true,
  updatedAt: 0,
});
