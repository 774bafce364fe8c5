@problemName MissingUnivariate
@timeStamps false
@missing true
@univariate true
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1.0,2.0,3.0,4.0:a
1.0,?,3.0,4.0:b
5.0,6.0,7.0,?:a
