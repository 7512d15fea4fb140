/** The work-order categories, in the order a dispatcher picks them (hearth_domain::WorkOrderCategory). */
export const CATEGORIES = [
  'repair',
  'leak',
  'network_burst',
  'temperature_test',
  'valve_open',
  'valve_close',
  'meter_check',
  'complaint',
] as const;
