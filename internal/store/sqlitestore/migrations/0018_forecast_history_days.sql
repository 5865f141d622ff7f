-- How many closed days of data each forecast row rests on (the forecast
-- job's Forecast.HistoryDays); NULL for rows stored before it was kept.
ALTER TABLE forecasts ADD COLUMN historyDays INTEGER;
